"""The "Who failed from where" part of a failures reply, as mrkdwn texts (render.py makes the
blocks). Everything shown here comes from logs: user names, addresses and databases are escaped.
MySQL and MariaDB answers come from the `error` log: hosts only, and only at the engine setting
that logs refused logins (the answer names it when it is off)."""

from __future__ import annotations

from bot.domain.cluster import MYSQL_ERROR_EXPORT, POSTGRESQL_EXPORT, enable_export_command
from bot.domain.correlate import ClientGroup, Correlation
from bot.domain.mysql_error_log import ACCESS_DENIED
from bot.domain.pam import PAM_PHRASE
from bot.domain.workloads import WorkloadKind, describe
from bot.services.who_failed_from_where import ClientsAnswer, LoginLoggingRead, NoClients
from bot.views.mrkdwn import code, escape, shorten

SHOWN_GROUPS = 12  # at ~240 characters a line, one section of at most 3,000
SHOWN_WORKLOADS = 15  # at ~150 characters a line
SHOWN_OUTSIDE = 10
WORKLOADS_TITLE = "*What the client addresses are*"
TITLE = "*Who failed from where*"


def _client(address: str) -> str:
    return escape(shorten(address, 45)) if address else "_(no address)_"


def group_line(group: ClientGroup) -> str:
    """`checkout_svc` · ExpiredToken — 10.0.1.67 ×120, 10.0.2.8 ×30 (db `orders`)"""
    clients = ", ".join(f"{_client(a)} ×{n:,}" for a, n in group.clients)
    if group.more_clients:
        clients += f", +{group.more_clients:,} more"
    line = f"{code(group.user, 40)} · {escape(shorten(group.code, 40))} — {clients}"
    if not group.databases:  # MySQL/MariaDB error log: it names none
        return line
    databases = ", ".join(code(d, 30) for d in group.databases)
    return f"{line} (db {databases})"


def _totals(correlation: Correlation, host_only: bool = False) -> str:
    phrase, lines = (ACCESS_DENIED, "Refused logins") if host_only else (PAM_PHRASE, "PAM failures")
    text = (
        f"{correlation.matched:,} of {correlation.iam_total:,} failures matched a "
        f"`{phrase}` line of the same user within ±2 s"
    )
    if correlation.unmatched_iam:
        text += f"; *{correlation.unmatched_iam:,} could not be matched*"
    if correlation.unmatched_pam:
        text += (
            f". {lines} in the window that matched no `iam-db-auth-error` line: "
            f"{correlation.unmatched_pam:,}"
        )
    return text + "."


def _setting(found: LoginLoggingRead) -> str:
    """`log_error_verbosity` is 2 (the engine default, …; parameter group `x`)"""
    logging = found.logging
    if found.logs_them is None and found.value is None:
        return f"`{logging.parameter}` could not be read ({escape(found.source)})"
    value = (
        code(found.value, 20)
        if found.value is not None
        else f"{logging.default} (the engine default: {logging.default_note})"
    )
    return f"`{logging.parameter}` is {value} ({escape(found.source)})"


def _turn_on(found: LoginLoggingRead) -> str:
    logging = found.logging
    return (
        f"set `{logging.parameter}` to {logging.needed} in the DB parameter group "
        "(a dynamic parameter: no reboot)"
    )


def _error_log_texts(answer: ClientsAnswer, cluster: str) -> list[str] | None:
    """The MySQL/MariaDB answers that are a single section; None when there is a table."""
    found = answer.login_logging
    if answer.missing is NoClients.ERROR_EXPORT_OFF:
        return [
            f"{TITLE}: the `{MYSQL_ERROR_EXPORT}` log export is *off* for `{escape(cluster)}`, "
            "so iamauth cannot see the host each failure came from. Turn it on (RDS console → "
            "Modify → Log exports → Error log, or "
            f"`{escape(enable_export_command(cluster, MYSQL_ERROR_EXPORT, answer.kind))}`) and ask again."
        ]
    if answer.missing is NoClients.ERROR_GROUP_MISSING:
        return [
            f"{TITLE}: the `{MYSQL_ERROR_EXPORT}` export is on, but the log group "
            f"`{escape(answer.group)}` does not exist yet, so there is nothing to match."
        ]
    if answer.missing is NoClients.ERROR_ACCESS_DENIED:
        return [
            f"{TITLE}: the bot may not call `logs:FilterLogEvents` on `{escape(answer.group)}`. "
            "Add the `error` log groups to its IAM policy (see `docs/iam-policy.json`)."
        ]
    if answer.missing is NoClients.FAILED_LOGINS_NOT_LOGGED and found is not None:
        known = found.logs_them is False
        advice = "" if known else "check it and, if it is lower, "
        lag = (
            "" if known else " (Lines also arrive late: RDS writes the error log every 5 minutes.)"
        )
        return [
            f"{TITLE}: the error log of `{escape(cluster)}` has no `{ACCESS_DENIED}` line: the "
            f"engine writes refused logins there only when `{found.logging.parameter}` is at "
            f"least {found.logging.needed}, and {_setting(found)}. To see who failed from "
            f"where, {advice}{_turn_on(found)}, and ask again about failures after that.{lag}"
        ]
    return None


def clients_texts(answer: ClientsAnswer, cluster: str) -> tuple[list[str], list[str]]:
    """(section texts, context notes) for the answer."""
    if answer.host_only:
        single = _error_log_texts(answer, cluster)
        if single is not None:
            return single, []
    if answer.missing is NoClients.POSTGRESQL_EXPORT_OFF:
        return [
            f"{TITLE}: the `{POSTGRESQL_EXPORT}` log export is *off* for `{escape(cluster)}`, "
            "so iamauth cannot see the client address and database of each failure. Turn it on "
            "(RDS console → Modify → Log exports → PostgreSQL log, or "
            f"`{escape(enable_export_command(cluster, POSTGRESQL_EXPORT, answer.kind))}`) and ask again."
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
            f"{TITLE} matches the `iam-db-auth-error` log to the `{answer.export}` log, "
            "so it needs that export on too."
        ], []
    correlation = answer.correlation
    lines = [group_line(g) for g in correlation.groups[:SHOWN_GROUPS]]
    more = len(correlation.groups) - len(lines)
    if more > 0:
        lines.append(f"…and {more:,} more user and code pairs")
    body = "\n".join(lines) if lines else f"_No failure matched a line of the {answer.export} log._"
    what = "client hosts" if answer.host_only else "client addresses"
    sections = [f"{TITLE} (top {what} by user and error code)\n{body}"]
    notes = [_totals(correlation, answer.host_only)]
    workloads = workloads_text(answer)
    if workloads:
        sections.append(workloads)
    notes.extend(workloads_notes(answer))
    if answer.host_only:
        notes.append(_host_only_note(answer, correlation))
    kind = "refused logins" if answer.host_only else "PAM failures"
    if answer.truncated:
        since = f" from {answer.covered_from:%Y-%m-%d %H:%M:%S} UTC" if answer.covered_from else ""
        notes.append(
            f":warning: The `{answer.export}` log had more {kind} than iamauth reads at "
            f"once: only the newest{since} were matched, so older failures count as unmatched."
        )
    if answer.unreadable:
        sample = f", e.g. {code(answer.unreadable_sample, 200)}" if answer.unreadable_sample else ""
        label = "Unreadable `Access denied` lines" if answer.host_only else "Unreadable PAM lines"
        notes.append(f"{label} (counted, not matched): {answer.unreadable:,}{sample}")
    log_format = answer.log_format
    if log_format is not None and (answer.unreadable or not log_format.is_default):
        notes.append(
            f"Read the `{POSTGRESQL_EXPORT}` log with `log_line_prefix` "
            f"{code(log_format.prefix, 100)}, `log_destination` "
            f"{code(log_format.destination, 40)}: {escape(answer.log_format_source)}."
        )
    return sections, notes


def _host_only_note(answer: ClientsAnswer, correlation: Correlation) -> str:
    text = (
        f"The `{MYSQL_ERROR_EXPORT}` log gives the client's host only (an address or a resolved "
        "name): no port, no database, no pid. RDS writes it out every 5 minutes: failures of "
        "the last minutes may have no line yet."
    )
    found = answer.login_logging
    if found is not None and correlation.pam_total == 0 and correlation.iam_total:
        text += (
            f" It holds no `{ACCESS_DENIED}` line in the window: the engine writes them only when "
            f"`{found.logging.parameter}` is at least {found.logging.needed}; {_setting(found)}."
        )
    return text


def workloads_text(answer: ClientsAnswer) -> str:
    """`10.0.2.8 ×98 — EC2 i-0abc (checkout-api, ASG checkout-asg)`, one line per address found in
    the account's VPCs, then the addresses outside them on one line. Tags and descriptions are
    AWS text anyone with EC2 rights wrote: escaped."""
    found: list[str] = []
    outside: list[str] = []
    for address, count in answer.client_totals():
        workload = answer.workloads.get(address)
        if workload is None:
            continue
        if workload.kind is WorkloadKind.OUTSIDE:
            outside.append(f"{_client(address)} ×{count:,}")
        else:
            found.append(
                f"{_client(address)} ×{count:,} — {escape(shorten(describe(workload), 120))}"
            )
    lines = found[:SHOWN_WORKLOADS]
    if len(found) > len(lines):
        lines.append(f"…and {len(found) - len(lines):,} more")
    if outside:
        more = f", +{len(outside) - SHOWN_OUTSIDE:,} more" if len(outside) > SHOWN_OUTSIDE else ""
        lines.append(
            f"{', '.join(outside[:SHOWN_OUTSIDE])}{more} — outside this account's VPCs "
            "(a peered VPC, on-premises, or another account)"
        )
    return f"{WORKLOADS_TITLE}\n" + "\n".join(lines) if lines else ""


def workloads_notes(answer: ClientsAnswer) -> list[str]:
    """Why addresses are bare, when they are: an optional permission, or a failed lookup."""
    if answer.workloads_denied == "ec2:DescribeNetworkInterfaces":
        return [
            "The client addresses are shown bare: the bot may not call "
            "`ec2:DescribeNetworkInterfaces` (optional; see `docs/iam-policy.json`)."
        ]
    if answer.workloads_denied:
        return [
            f"The bot may not call `{escape(answer.workloads_denied)}` (optional; see "
            "`docs/iam-policy.json`): instances are shown without their Name tag and Auto "
            "Scaling group."
        ]
    if answer.workloads_error:
        return [
            f"The client addresses could not be looked up in EC2: {escape(answer.workloads_error)}"
        ]
    return []
