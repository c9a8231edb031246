"""Use cases: what people ask and change, answered through the adapters as data, never Slack text.

A service imports the domain, the adapters and bot/ops, never a view, a handler or the bootstrap.
"""
