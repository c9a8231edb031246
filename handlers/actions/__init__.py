"""Buttons: the digest's, and the log export offer's. handlers/__init__.py registers each."""
