"""The "Who failed from where" part of a failures reply, as mrkdwn texts (render.py makes the
blocks). Everything shown here comes from logs: user names, addresses and databases are escaped."""

from __future__ import annotations

from bot.domain.cluster import POSTGRESQL_EXPORT, enable_export_command
from bot.domain.correlate import ClientGroup, Correlation
from bot.domain.pam import PAM_PHRASE
from bot.services.who_failed_from_where import ClientsAnswer, NoClients
from bot.views.mrkdwn import code, escape, shorten

SHOWN_GROUPS = 12  # at ~240 characters a line, one section of at most 3,000
TITLE = "*Who failed from where*"


def _client(address: str) -> str:
    return escape(shorten(address, 45)) if address else "_(no address)_"


def group_line(group: ClientGroup) -> str:
    """`checkout_svc` · ExpiredToken — 10.0.1.67 ×120, 10.0.2.8 ×30 (db `orders`)"""
    clients = ", ".join(f"{_client(a)} ×{n:,}" for a, n in group.clients)
    if group.more_clients:
        clients += f", +{group.more_clients:,} more"
    databases = ", ".join(code(d, 30) for d in group.databases)
    return (
        f"{code(group.user, 40)} · {escape(shorten(group.code, 40))} — {clients} (db {databases})"
    )


def _totals(correlation: Correlation) -> str:
    text = (
        f"{correlation.matched:,} of {correlation.iam_total:,} failures matched a "
        f"`{PAM_PHRASE}` line of the same user within ±2 s"
    )
    if correlation.unmatched_iam:
        text += f"; *{correlation.unmatched_iam:,} could not be matched*"
    if correlation.unmatched_pam:
        text += (
            ". PAM failures in the window that matched no `iam-db-auth-error` line: "
            f"{correlation.unmatched_pam:,}"
        )
    return text + "."


def clients_texts(answer: ClientsAnswer, cluster: str) -> tuple[list[str], list[str]]:
    """(section texts, context notes) for the answer."""
    if answer.missing is NoClients.POSTGRESQL_EXPORT_OFF:
        return [
            f"{TITLE}: the `{POSTGRESQL_EXPORT}` log export is *off* for `{escape(cluster)}`, "
            "so iamauth cannot see the client address and database of each failure. Turn it on "
            "(RDS console → Modify → Log exports → PostgreSQL log, or "
            f"`{escape(enable_export_command(cluster, POSTGRESQL_EXPORT))}`) and ask again."
        ], []
    if answer.missing is NoClients.POSTGRESQL_GROUP_MISSING:
        return [
            f"{TITLE}: the `{POSTGRESQL_EXPORT}` export is on, but the log group "
            f"`{escape(answer.group)}` does not exist yet, so there is nothing to match."
        ], []
    if answer.missing is NoClients.POSTGRESQL_ACCESS_DENIED:
        return [
            f"{TITLE}: the bot may not call `logs:FilterLogEvents` on `{escape(answer.group)}`. "
            "Add the `postgresql` log groups to its IAM policy (see `docs/iam-policy.json`)."
        ], []
    if answer.missing is NoClients.IAM_LOG_OFF or answer.correlation is None:
        return [
            f"{TITLE} matches the `iam-db-auth-error` log to the `{POSTGRESQL_EXPORT}` log, "
            "so it needs that export on too."
        ], []
    correlation = answer.correlation
    lines = [group_line(g) for g in correlation.groups[:SHOWN_GROUPS]]
    more = len(correlation.groups) - len(lines)
    if more > 0:
        lines.append(f"…and {more:,} more user and code pairs")
    body = "\n".join(lines) if lines else "_No failure matched a line of the postgresql log._"
    sections = [f"{TITLE} (top client addresses by user and error code)\n{body}"]
    notes = [_totals(correlation)]
    if answer.truncated:
        since = f" from {answer.covered_from:%Y-%m-%d %H:%M:%S} UTC" if answer.covered_from else ""
        notes.append(
            f":warning: The `{POSTGRESQL_EXPORT}` log had more PAM failures than iamauth reads at "
            f"once: only the newest{since} were matched, so older failures count as unmatched."
        )
    if answer.unreadable:
        sample = f", e.g. {code(answer.unreadable_sample, 200)}" if answer.unreadable_sample else ""
        notes.append(f"Unreadable PAM lines (counted, not matched): {answer.unreadable:,}{sample}")
    log_format = answer.log_format
    if log_format is not None and (answer.unreadable or not log_format.is_default):
        notes.append(
            f"Read the `{POSTGRESQL_EXPORT}` log with `log_line_prefix` "
            f"{code(log_format.prefix, 100)}, `log_destination` "
            f"{code(log_format.destination, 40)}: {escape(answer.log_format_source)}."
        )
    return sections, notes
