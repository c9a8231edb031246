"""Running the bot: logging set-up, redaction, log-record hooks, request ids, its own telemetry,
caches, calls that fail alone, each person's budget. Imported by every layer; imports none."""
