"""The `failures` answer: the log's failures by code, user and caller, with samples and fix hints,
who failed from where when asked, and the metrics below them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from slack_sdk.models.blocks import Block, DividerBlock

from bot.adapters.aws.rate_budget import LogReadBudgetBusy
from bot.domain.cluster import CLUSTER, IAM_LOG_EXPORT, Kind, enable_export_command, iam_log_group
from bot.domain.fixes import Fix, fixes_by_family, fixes_of_summary
from bot.domain.metrics import FAMILY_METRICS
from bot.domain.records import Family, family_of
from bot.domain.summary import FailureSummary
from bot.domain.window import Window
from bot.domain.workloads import names_of
from bot.services.exact_counts import PATH_INSIGHTS
from bot.services.queries import FailuresReport
from bot.views.blocks import Message, context, header, section
from bot.views.fixes import fix_first_text, fix_line
from bot.views.metrics import cluster_warnings, metrics_context, metrics_table
from bot.views.mrkdwn import block_quote_code, code, escape, shorten
from bot.views.refused_callers import refused_blocks
from bot.views.who_failed_from_where import clients_texts

SLOWER_NOT_WRONG = (
    ":hourglass: AWS throttled some calls; they were retried, so this answer took longer, "
    "but it is complete."
)


TOP_USERS = 10


TOP_CODES_WITH_DETAIL = 5


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC" if moment else "–"


def _lines_with_more(lines: Sequence[str], more: int, noun: str) -> str:
    text = "\n".join(lines)
    if more > 0:
        text += f"\n…and {more:,} more {noun}"
    return text


def enable_export_text(cluster: str, kind: Kind = CLUSTER) -> str:
    applies = (
        "It applies with *no reboot* and drops no connections."
        if kind == CLUSTER
        else "RDS applies it to the DB instance at once, with *no reboot*."
    )
    return (
        f"The `{IAM_LOG_EXPORT}` log export is *off* for `{escape(cluster)}`, so the log cannot say "
        "which users failed or why. Turn it on in the RDS console (Modify → Log exports → "
        f"`{IAM_LOG_EXPORT}` → Apply immediately) or with:\n"
        f"```{escape(enable_export_command(cluster, IAM_LOG_EXPORT, kind))}```\n{applies}"
    )


def budget_busy_text(busy: LogReadBudgetBusy) -> str:
    minutes = max(1, math.ceil(busy.wait_seconds / 60))
    return (
        f":hourglass: AWS's log-read budget for `{escape(busy.place)}` is busy: other requests "
        f"hold it for about {minutes} min, longer than Slack lets this answer wait. Here are the "
        "metric totals meanwhile; ask again later for the log's detail."
    )


def statements_to_add(report: FailuresReport) -> dict[str, tuple[str, str]]:
    """Hook for the NotAuthorized fix: per refused caller ARN, the IAM principal behind it and the
    paste-ready statement to add to its policy (bot/domain/refused_callers.py). A caller without
    one (not analysed, no principal read, in another account, allowed by IAM's simulation) is
    named in the fix with the documented ARN pattern."""
    return report.refused.statements_to_add() if report.refused is not None else {}


def client_names(report: FailuresReport) -> dict[str, str]:
    """Hook for the ExpiredToken fix: what each client address is (its workload), where the
    clients answer resolved it; an address outside the account's VPCs keeps its bare form."""
    return names_of(report.clients.workloads) if report.clients is not None else {}


def report_fixes(report: FailuresReport) -> list[Fix]:
    """The fixes that fit what this answer saw, most frequent cause first: by code from the log,
    else by family from the metrics (the log export off, or its read postponed)."""
    summary = report.summary
    if summary is not None and summary.total:
        found = report.clients.correlation if report.clients is not None else None
        return fixes_of_summary(
            summary,
            clients=found.groups if found is not None else None,
            names=client_names(report),
            statements=statements_to_add(report),
        )
    if summary is None:
        counts = {f: report.metrics.total(m) for f, m in FAMILY_METRICS.items()}
        return fixes_by_family(counts, export_off=report.log_budget_busy is None)
    return []


def _summary_blocks(
    summary: FailureSummary, window: Window, fixes: Sequence[Fix] = (), clients_asked: bool = True
) -> list[Block]:
    first = fix_first_text(fixes, clients_asked=clients_asked)
    blocks: list[Block] = [section(first)] if first else []
    blocks.append(
        section(
            f"*{summary.total:,} failed IAM authentications* in the log\n"
            f"First seen {_when(summary.first_seen)} · last seen {_when(summary.last_seen)}"
        )
    )
    code_lines = [
        f"{code(c, 40)} ({family_of(c).value}): *{n:,}*" for c, n in summary.top_codes()[:20]
    ]
    more_codes = max(len(summary.by_code) - 20, 0)
    user_top = summary.top_users(TOP_USERS)
    user_lines = [f"{code(u, 60)}: *{n:,}*" for u, n in user_top]
    more_users = len(summary.by_user.counts) - len(user_top)
    users_text = _lines_with_more(user_lines, more_users, "users")
    if summary.users_overflow:
        users_text += (
            f"\n{summary.users_overflow:,} failures of further distinct user names are counted "
            "but not itemised"
        )
    blocks.append(section("*By error code*\n" + _lines_with_more(code_lines, more_codes, "codes")))
    if user_lines:
        blocks.append(section("*By database user*\n" + users_text))
    callers = summary.callers.top(5)
    if callers:
        caller_lines = [f"{code(arn, 200)}: *{n:,}*" for arn, n in callers]
        blocks.append(
            section(
                "*Callers refused `rds-db:connect`* (from NotAuthorized lines)\n"
                + _lines_with_more(
                    caller_lines, len(summary.callers.counts) - len(callers), "roles"
                )
            )
        )
    # One section per code, most frequent first, each with the fix that fits what was seen.
    for fix in fixes[:TOP_CODES_WITH_DETAIL]:
        error_code = fix.code
        users = ", ".join(code(u, 40) for u, _ in summary.users_for_code(error_code, 3))
        samples = summary.samples.get(error_code)
        sample = block_quote_code(samples[-1], 500) if samples else ""
        blocks.append(
            section(
                f"*{escape(shorten(error_code, 60))}* ({fix.count:,}) — top users {users}\n"
                f"_Fix:_ {fix_line(replace(fix, statements=()), count=False)}\n{sample}"
            )
        )
    notes = []
    if summary.truncated:
        since = f", from {_when(summary.covered_from)}," if summary.covered_from else ""
        notes.append(
            f":warning: The log part is truncated: it covers only the newest "
            f"{summary.total + summary.unparsed:,} events of the window{since} so the users and "
            "codes above describe the latest failures. The metrics below count them all."
        )
    if summary.unparsed:
        notes.append(
            f"Unreadable lines (kept and counted, not dropped): {summary.unparsed:,}, e.g. "
            + code(summary.unparsed_samples[0], 200)
        )
    if notes:
        blocks.append(context("\n".join(notes)))
    return blocks


def path_note(path: str, insights_error: str = "") -> str:
    """Which read answered: Logs Insights (exact counts of a window too big to read in time) or
    FilterLogEvents (and why Logs Insights could not count, when it should have)."""
    if path == PATH_INSIGHTS:
        return (
            "Counted by Logs Insights over the whole window (exact by code, user and caller); "
            "the samples are the newest lines, read with FilterLogEvents."
        )
    if insights_error:
        return (
            f"Read with FilterLogEvents: Logs Insights could not count this window "
            f"({escape(shorten(insights_error, 300))})."
        )
    return "Read with FilterLogEvents."


def failures_message(report: FailuresReport) -> Message:
    cluster = report.cluster.identifier
    window = report.window
    blocks: list[Block] = [
        header(f"IAM auth failures · {cluster}" + (f" · {report.place}" if report.place else "")),
        context(
            f"Window {window.describe()} · log group "
            f"`{escape(iam_log_group(cluster, report.cluster.kind))}`"
        ),
    ]
    blocks.extend(cluster_warnings(report.cluster))
    summary = report.summary
    metrics = report.metrics
    metric_failures = metrics.total("IamDbAuthConnectionFailure")
    fixes = report_fixes(report)
    if report.log_budget_busy is not None:
        blocks.append(section(budget_busy_text(report.log_budget_busy)))
        blocks.extend(section(t) for t in [fix_first_text(fixes)] if t)
        text = f"{cluster}: log reads busy; CloudWatch counts {metric_failures:,} failures"
    elif summary is None:
        blocks.append(section(enable_export_text(cluster, report.cluster.kind)))
        blocks.extend(section(t) for t in [fix_first_text(fixes)] if t)
        text = f"{cluster}: log export off; CloudWatch counts {metric_failures:,} failures"
    elif not report.log_group_exists:
        blocks.append(
            section(
                "The log export is on, but the log group does not exist yet: it is created with "
                "the first failed IAM authentication after the export was turned on. "
                "*No failures are logged.*"
            )
        )
        text = f"{cluster}: no failures logged in {window.describe()}"
    elif summary.total == 0 and summary.unparsed == 0:
        blocks.append(section(f"*No failed IAM authentications* in {window.describe()}."))
        text = f"{cluster}: no failures in {window.describe()}"
    else:
        blocks.extend(_summary_blocks(summary, window, fixes, report.clients is not None))
        blocks.extend(refused_blocks(report.refused))  # each refused caller: ARNs, simulation
        blocks.append(context(path_note(report.path, report.insights_error)))
        text = f"{cluster}: {summary.total:,} IAM auth failures in {window.describe()}"
    if report.clients is not None:
        sections, notes = clients_texts(report.clients, cluster)
        blocks.extend(section(t) for t in sections)
        blocks.extend(context(t) for t in notes)
    blocks.append(DividerBlock())
    family_names = [FAMILY_METRICS[f] for f in Family if f in FAMILY_METRICS]
    blocks.append(
        section(
            f"*CloudWatch metrics*: {metric_failures:,} failures of "
            f"{metrics.total('IamDbAuthConnectionRequests'):,} requests\n"
            + metrics_table(metrics, ["IamDbAuthConnectionFailure", *family_names])
        )
    )
    blocks.append(context(metrics_context(metrics)))
    if report.retried:
        blocks.append(context(SLOWER_NOT_WRONG))
    return Message(text=text, blocks=blocks)
