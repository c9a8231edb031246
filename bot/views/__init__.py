"""Renderers: Block Kit messages (built on views/blocks.py, escaped by views/mrkdwn.py), the
terminal's text, the JSON of `--json`, and the PNG charts."""
