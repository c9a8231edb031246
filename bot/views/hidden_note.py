"""The line a list gains when the read rule left some of its entries out (bot/domain/access.py):
how many, never which, since their names are what may not be shown in this channel."""

from __future__ import annotations

from bot.views.blocks import MAX_BLOCKS, Message, context


def with_hidden_note(message: Message, hidden: int, singular: str, plural: str) -> Message:
    """`message` and, when `hidden` > 0, a closing note saying how many entries were left out."""
    if not hidden:
        return message
    note = (
        "Clusters that may not be queried in this channel are left out "
        f"({hidden} {singular if hidden == 1 else plural})."
    )
    blocks = message.blocks[: MAX_BLOCKS - 1]  # the note always fits
    return Message(text=f"{message.text} ({note})", blocks=[*blocks, context(note)])
