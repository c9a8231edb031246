"""The `metrics` answer: the seven IamDbAuth* series as a table of totals and sparklines, and the
notes every cluster answer shares (IAM auth off)."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import Block

from bot.domain.cluster import ClusterInfo
from bot.domain.metrics import METRIC_NAMES, MetricsReport, Series, resample, short_name
from bot.views.blocks import Message, context, header, section
from bot.views.mrkdwn import escape

SPARK = "▁▂▃▄▅▆▇█"


SPARK_WIDTH = 40


def sparkline(values: Sequence[float]) -> str:
    if not values:
        return ""
    top = max(values)
    if top <= 0:
        return SPARK[0] * len(values)
    return "".join(
        SPARK[min(int(v / top * (len(SPARK) - 1) + 0.5), len(SPARK) - 1)] for v in values
    )


def metrics_table(report: MetricsReport, names: Sequence[str] = METRIC_NAMES) -> str:
    width = max(len(short_name(n)) for n in names)
    rows = []
    for name in names:
        series = report.series.get(name) or Series()
        values = resample(series, report.start, report.end, SPARK_WIDTH)
        rows.append(
            f"{short_name(name).ljust(width)}  {report.total(name):>9,}  {sparkline(values)}"
        )
    return "```" + "\n".join(rows) + "```"


def metrics_context(report: MetricsReport) -> str:
    dimension = f"`{report.dimension}`"
    if report.instances:
        dimension += " summed over " + ", ".join(f"`{escape(i)}`" for i in report.instances)
    return (
        f"CloudWatch `AWS/RDS`, Sum per {report.period // 60} min, by {dimension}, "
        f"{report.window.describe()}. "
        "The newest points may still grow: metrics arrive a few minutes late."
    )


def metrics_message(cluster: ClusterInfo, report: MetricsReport) -> Message:
    requests = report.total("IamDbAuthConnectionRequests")
    failures = report.total("IamDbAuthConnectionFailure")
    rate = f" ({failures / requests:.1%})" if requests else ""
    blocks: list[Block] = [
        header(f"IAM auth metrics · {cluster.identifier}"),
        context(f"Window {report.window.describe()}"),
        *cluster_warnings(cluster),
        section(
            f"*{requests:,} requests*, {report.total('IamDbAuthConnectionSuccess'):,} succeeded, "
            f"*{failures:,} failed*{rate}\n" + metrics_table(report)
        ),
    ]
    if not report.has_data:
        blocks.append(section("CloudWatch has no data points for this cluster in the window."))
    blocks.append(context(metrics_context(report)))
    return Message(
        text=f"{cluster.identifier}: {requests:,} IAM auth requests, {failures:,} failed",
        blocks=blocks,
    )


def cluster_warnings(cluster: ClusterInfo) -> list[Block]:
    if cluster.iam_auth_enabled:
        return []
    return [
        section(
            f":information_source: IAM database authentication is *not enabled* on "
            f"`{escape(cluster.identifier)}`: no connection uses it, so nothing can fail there."
        )
    ]


def chart_note(problem: str | None) -> Block:
    """Under a metrics answer: where its chart went, or why it was not posted."""
    if problem:
        return context(f":warning: Chart not posted: {problem}.")
    return context(":chart_with_upwards_trend: Chart posted in this channel.")
