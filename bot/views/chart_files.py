"""The charts as the PNG files shared in Slack: under a `/iamauth metrics` answer, and in a digest's
thread (drawn from the spec its outbox row stores). Sharing them is the Slack adapter's job
(bot/adapters/slack/files.py); a chart is extra, so its callers log a failure and go on.

matplotlib is imported only when a chart is drawn (it takes most of a second), so the CLI and the
scheduler start without it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.adapters.slack.files import Png
from bot.domain.chart_spec import DigestChart
from bot.domain.metrics import MetricsReport


def metrics_png(report: MetricsReport) -> Png:
    from bot.views.chart_drawing import draw_metrics_chart, metrics_alt_text

    window = report.window
    return Png(
        draw_metrics_chart(report),
        filename=f"iamauth-metrics-{report.cluster}-{window.end:%Y%m%dT%H%MZ}.png",
        title=f"IAM auth metrics · {report.cluster} · {window.describe()}",
        alt_text=metrics_alt_text(report),
    )


def digest_png(spec: Mapping[str, Any]) -> Png:
    """A digest's chart, from the spec its outbox row stores (DigestChart.to_json)."""
    from bot.views.chart_drawing import digest_alt_text, draw_digest_chart

    chart = DigestChart.from_json(spec)
    # A watched cluster may be written `account/region/cluster`: no slashes in a file name.
    name = str(chart.cluster).replace("/", "-")
    return Png(
        draw_digest_chart(chart),
        filename=f"iamauth-{name}-{chart.family.value}-{chart.end:%Y%m%dT%H%MZ}.png",
        title=f"{chart.cluster} · {chart.family.value} failures up to {chart.end:%H:%M} UTC",
        alt_text=digest_alt_text(chart),
    )
