"""Drawing a chart and sharing it in Slack: under a `/iamauth metrics` answer, in a digest's thread.

A chart is extra: drawing or uploading it may fail, and the answer or the digest it belongs to is
never lost or changed by that. matplotlib is imported only when a chart is drawn (it takes most
of a second), so the CLI and the scheduler start without it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from slack_sdk import WebClient

from bot.adapters.slack.files import Png, UploadError, upload_png
from bot.domain.chart_spec import DigestChart
from bot.domain.metrics import MetricsReport

log = logging.getLogger(__name__)


def metrics_png(report: MetricsReport) -> Png:
    from bot.views.chart_drawing import draw_metrics_chart, metrics_alt_text

    window = report.window
    return Png(
        draw_metrics_chart(report),
        filename=f"iamauth-metrics-{report.cluster}-{window.end:%Y%m%dT%H%MZ}.png",
        title=f"IAM auth metrics · {report.cluster} · {window.describe()}",
        alt_text=metrics_alt_text(report),
    )


def post_metrics_chart(client: WebClient, channel: str, report: MetricsReport) -> str | None:
    """Share the report's chart in `channel`; None when posted, else why not (one clause)."""
    try:
        png = metrics_png(report)
    except Exception:
        log.exception("drawing the metrics chart of %s failed", report.cluster)
        return "it could not be drawn (the details are logged)"
    try:
        upload_png(client, png, channel)
    except UploadError as error:
        return str(error)
    return None


def post_digest_chart(
    client: WebClient, channel: str, thread_ts: str, spec: Mapping[str, Any]
) -> bool:
    """Draw a digest's chart from its stored spec and share it in the digest's thread.

    Returns whether it was posted; failures are logged only: the digest itself is already out.
    """
    try:
        from bot.views.chart_drawing import digest_alt_text, draw_digest_chart

        chart = DigestChart.from_json(spec)
        # A watched cluster may be written `account/region/cluster`: no slashes in a file name.
        name = chart.cluster.replace("/", "-")
        png = Png(
            draw_digest_chart(chart),
            filename=f"iamauth-{name}-{chart.family.value}-{chart.end:%Y%m%dT%H%MZ}.png",
            title=f"{chart.cluster} · {chart.family.value} failures up to {chart.end:%H:%M} UTC",
            alt_text=digest_alt_text(chart),
        )
    except Exception:
        log.exception("drawing a digest chart for %s failed", channel)
        return False
    try:
        upload_png(client, png, channel, thread_ts=thread_ts)
    except UploadError as error:
        log.warning("the digest chart was not posted in %s: %s", channel, error)
        return False
    return True
