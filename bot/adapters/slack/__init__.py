"""Adapter to Slack's Web API: the clients, posting the outbox, file uploads, user groups."""
