"""Adapters to Slack: the Bolt app, Block Kit rendering, and a local stand-in of the Web API."""
