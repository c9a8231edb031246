"""Block Kit messages from reports, built with slack_sdk.models and kept within Slack's limits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.domain.cluster import IAM_LOG_EXPORT, ClusterInfo, enable_export_command, iam_log_group
from bot.domain.hints import hint_for_code
from bot.domain.metrics import (
    FAMILY_METRICS,
    METRIC_NAMES,
    MetricsReport,
    Series,
    resample,
    short_name,
)
from bot.domain.records import Family, family_of
from bot.domain.summary import FailureSummary
from bot.domain.window import Window
from bot.services.queries import FailuresReport
from bot.views.mrkdwn import block_quote_code, code, escape, shorten
from bot.views.who_failed_from_where import clients_texts

SLOWER_NOT_WRONG = (
    ":hourglass: AWS throttled some calls; they were retried, so this answer took longer, "
    "but it is complete."
)
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
TOP_USERS = 10
TOP_CODES_WITH_DETAIL = 5
SPARK = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 40


@dataclass
class Message:
    """What a reply carries: fallback text (notifications, screen readers) and blocks."""

    text: str
    blocks: list[Block] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        blocks = self.blocks
        if len(blocks) > MAX_BLOCKS:
            blocks = [*blocks[: MAX_BLOCKS - 1], context("Some detail was left out to fit.")]
        return {"text": shorten(self.text, 3000), "blocks": [b.to_dict() for b in blocks]}


def section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=shorten(text, MAX_SECTION_TEXT)))


def context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=shorten(text, MAX_SECTION_TEXT))])


def _header(text: str) -> HeaderBlock:
    return HeaderBlock(text=shorten(text, MAX_HEADER_TEXT))


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC" if moment else "–"


def _lines_with_more(lines: Sequence[str], more: int, noun: str) -> str:
    text = "\n".join(lines)
    if more > 0:
        text += f"\n…and {more:,} more {noun}"
    return text


def sparkline(values: Sequence[float]) -> str:
    if not values:
        return ""
    top = max(values)
    if top <= 0:
        return SPARK[0] * len(values)
    return "".join(
        SPARK[min(int(v / top * (len(SPARK) - 1) + 0.5), len(SPARK) - 1)] for v in values
    )


def _metrics_table(report: MetricsReport, names: Sequence[str] = METRIC_NAMES) -> str:
    width = max(len(short_name(n)) for n in names)
    rows = []
    for name in names:
        series = report.series.get(name) or Series()
        values = resample(series, report.start, report.end, SPARK_WIDTH)
        rows.append(
            f"{short_name(name).ljust(width)}  {report.total(name):>9,}  {sparkline(values)}"
        )
    return "```" + "\n".join(rows) + "```"


def _metrics_context(report: MetricsReport) -> str:
    dimension = f"`{report.dimension}`"
    if report.instances:
        dimension += " summed over " + ", ".join(f"`{escape(i)}`" for i in report.instances)
    return (
        f"CloudWatch `AWS/RDS`, Sum per {report.period // 60} min, by {dimension}, "
        f"{report.window.describe()}. "
        "The newest points may still grow: metrics arrive a few minutes late."
    )


def enable_export_text(cluster: str) -> str:
    return (
        f"The `{IAM_LOG_EXPORT}` log export is *off* for `{escape(cluster)}`, so the log cannot say "
        "which users failed or why. Turn it on in the RDS console (Modify → Log exports → "
        f"`{IAM_LOG_EXPORT}` → Apply immediately) or with:\n"
        f"```{escape(enable_export_command(cluster, IAM_LOG_EXPORT))}```\n"
        "It applies with *no reboot* and drops no connections."
    )


def _summary_blocks(summary: FailureSummary, window: Window) -> list[Block]:
    blocks: list[Block] = [
        section(
            f"*{summary.total:,} failed IAM authentications* in the log\n"
            f"First seen {_when(summary.first_seen)} · last seen {_when(summary.last_seen)}"
        )
    ]
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
    for error_code, _ in summary.top_codes()[:TOP_CODES_WITH_DETAIL]:
        users = ", ".join(code(u, 40) for u, _ in summary.users_for_code(error_code, 3))
        samples = summary.samples.get(error_code)
        sample = block_quote_code(samples[-1], 500) if samples else ""
        blocks.append(
            section(
                f"*{escape(shorten(error_code, 60))}* — top users {users}\n"
                f"_Fix:_ {escape(hint_for_code(error_code))}\n{sample}"
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


def failures_message(report: FailuresReport) -> Message:
    cluster = report.cluster.identifier
    window = report.window
    blocks: list[Block] = [
        _header(f"IAM auth failures · {cluster}" + (f" · {report.place}" if report.place else "")),
        context(f"Window {window.describe()} · log group `{escape(iam_log_group(cluster))}`"),
    ]
    blocks.extend(_cluster_warnings(report.cluster))
    summary = report.summary
    metrics = report.metrics
    metric_failures = metrics.total("IamDbAuthConnectionFailure")
    if summary is None:
        blocks.append(section(enable_export_text(cluster)))
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
        blocks.extend(_summary_blocks(summary, window))
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
            + _metrics_table(metrics, ["IamDbAuthConnectionFailure", *family_names])
        )
    )
    blocks.append(context(_metrics_context(metrics)))
    if report.retried:
        blocks.append(context(SLOWER_NOT_WRONG))
    return Message(text=text, blocks=blocks)


def metrics_message(cluster: ClusterInfo, report: MetricsReport) -> Message:
    requests = report.total("IamDbAuthConnectionRequests")
    failures = report.total("IamDbAuthConnectionFailure")
    rate = f" ({failures / requests:.1%})" if requests else ""
    blocks: list[Block] = [
        _header(f"IAM auth metrics · {cluster.identifier}"),
        context(f"Window {report.window.describe()}"),
        *_cluster_warnings(cluster),
        section(
            f"*{requests:,} requests*, {report.total('IamDbAuthConnectionSuccess'):,} succeeded, "
            f"*{failures:,} failed*{rate}\n" + _metrics_table(report)
        ),
    ]
    if not report.has_data:
        blocks.append(section("CloudWatch has no data points for this cluster in the window."))
    blocks.append(context(_metrics_context(report)))
    return Message(
        text=f"{cluster.identifier}: {requests:,} IAM auth requests, {failures:,} failed",
        blocks=blocks,
    )


def _cluster_warnings(cluster: ClusterInfo) -> list[Block]:
    if cluster.iam_auth_enabled:
        return []
    return [
        section(
            f":information_source: IAM database authentication is *not enabled* on "
            f"`{escape(cluster.identifier)}`: no connection uses it, so nothing can fail there."
        )
    ]


HELP_TEXT = (
    "*iamauth* answers questions about IAM database authentication on your Aurora/RDS clusters.\n"
    "• `/iamauth failures <cluster> [window] [clients]`: failed IAM logins by error code and "
    "database user, with samples and fix hints; `clients` adds who failed from where (client "
    "addresses and databases, from the `postgresql` log export)\n"
    "• `/iamauth metrics <cluster> [window]`: the seven `IamDbAuth*` CloudWatch metrics, and "
    "their chart posted in the channel\n"
    "• `/iamauth watch <cluster> [#channel] [invalid_token>=5/5m] [insufficient_permissions>=1/15m] "
    "[repeat=4h] [resolved=no]`: post a digest when failures cross a threshold\n"
    "• `/iamauth unwatch <cluster> [#channel]`, `/iamauth watches`: stop, list\n"
    "• `/iamauth silence <cluster> <duration> [reason]`, `/iamauth unsilence <cluster>`\n"
    "• `/iamauth clusters`: every cluster with IAM auth, its log export and last-24h failures\n"
    "• `/iamauth logs <cluster>`: which log exports are on and what each gives iamauth\n"
    "• `/iamauth enable-logs <cluster>`: turn the `iam-db-auth-error` export on, after a confirm "
    "(admins; no reboot, no dropped connections)\n"
    "• `/iamauth audit [n]`: the newest entries of the audit log (admins)\n"
    "• `/iamauth help`: this message\n"
    "Windows look like `15m`, `1h` (the default), `24h`, `7d`. "
    "Add `public` to post the answer in the channel instead of only to you."
)


def help_message(note: str | None = None, *, open_access: bool = False) -> Message:
    blocks: list[Block] = []
    if note:
        blocks.append(section(note))  # built by the caller with code(), already escaped
    blocks.append(section(escape(HELP_TEXT)))
    if open_access:
        blocks.append(
            context(
                "Access control is off: anyone here may change watches and silences. "
                "Name admins and cluster owners in the config's `[access]` table to turn it on."
            )
        )
    return Message(text=note or "iamauth help", blocks=blocks)


def error_message(text: str) -> Message:
    """An error for the person who asked. It may quote their input: escaped like any text."""
    return Message(text=escape(text), blocks=[section(f":warning: {escape(text)}")])
