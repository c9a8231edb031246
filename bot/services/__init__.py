"""Use cases: what the bot does, through the ports its adapters fill; they return data, never
Slack text."""
