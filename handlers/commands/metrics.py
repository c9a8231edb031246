"""`/iamauth metrics <cluster> [window]`: the numbers as text, and their chart in the channel."""

from __future__ import annotations

import logging

from bot.adapters.slack.files import UploadError, upload_png
from bot.domain.access import Kind
from bot.domain.metrics import MetricsReport
from bot.views.blocks import Message
from bot.views.chart_files import metrics_png
from bot.views.metrics import chart_note, metrics_message
from handlers.commands.args import cluster_query
from handlers.context import CommandRequest, Deps, Prepared

log = logging.getLogger(__name__)


def prepare(request: CommandRequest, deps: Deps) -> Prepared:
    query = cluster_query("metrics", request.words, deps.max_window)

    def answer() -> Message:
        info, report = deps.queries.metrics(query.address, query.duration)
        message = metrics_message(info, report)
        # A chart of nothing says no more than the text already does.
        if report.has_data:
            problem = _share_chart(deps, request.channel_id, report)
            # Say where the chart went: this reply may be visible to the asker only, the file not.
            message.blocks.append(chart_note(problem))
        return message

    return Prepared(answer, Kind.READ, str(query.address), reads_aws=True)


def _share_chart(deps: Deps, channel: str, report: MetricsReport) -> str | None:
    """Share the report's chart in `channel`; None when posted, else why not (one clause). A chart
    is extra: drawing or uploading it may fail, and the answer is never lost or changed by that."""
    try:
        png = metrics_png(report)
    except Exception:
        log.exception("drawing the metrics chart of %s failed", report.cluster)
        return "it could not be drawn (the details are logged)"
    try:
        upload_png(deps.slack, png, channel)
    except UploadError as error:
        return str(error)
    return None
