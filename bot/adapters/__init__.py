"""Adapters: one folder per outside system (AWS, the store, Slack's Web API), each owning it.

An adapter imports the domain and bot/ops, never a service, a view, a handler or the bootstrap.
"""
