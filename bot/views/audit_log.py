"""The audit log as admins read it in Slack (`/iamauth audit`); the terminal's table is in
bot/views/terminal.py."""

from __future__ import annotations

from bot.adapters.store.repo import AuditEntry
from bot.views.blocks import MAX_BLOCKS, Message, plain, sections
from bot.views.mrkdwn import code, quoted


def audit_line(entry: AuditEntry) -> str:
    """One audit entry; the action is the person's own text, shown as code."""
    detail = f" — {quoted(entry.detail, 200)}" if entry.detail else ""
    return (
        f"{entry.at:%Y-%m-%d %H:%M:%S} {code(entry.user_id, 20)} in {code(entry.channel_id, 20)}: "
        f"{code(entry.action, 200)} *{entry.outcome}*{detail}"
    )


def audit_list(entries: list[AuditEntry]) -> Message:
    if not entries:
        return plain("The audit log is empty.")
    blocks = sections([audit_line(e) for e in entries], MAX_BLOCKS)
    return Message(text=f"The last {len(entries)} audit entries", blocks=blocks)
