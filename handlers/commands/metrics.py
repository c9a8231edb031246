"""`/iamauth metrics <cluster> [window]`: the numbers as text, and their chart in the channel."""

from __future__ import annotations

from bot.domain.access import Kind
from bot.views.blocks import Message, context, metrics_message
from bot.views.chart_files import post_metrics_chart
from handlers.commands.args import cluster_query
from handlers.context import CommandRequest, Deps, Prepared


def prepare(request: CommandRequest, deps: Deps) -> Prepared:
    query = cluster_query("metrics", request.words, deps.max_window)

    def answer() -> Message:
        info, report = deps.queries.metrics(query.address, query.duration)
        message = metrics_message(info, report)
        # A chart of nothing says no more than the text already does.
        if report.has_data:
            problem = post_metrics_chart(deps.slack, request.channel_id, report)
            # Say where the chart went: this reply may be visible to the asker only, the file not.
            message.blocks.append(
                context(f":warning: Chart not posted: {problem}.")
                if problem
                else context(":chart_with_upwards_trend: Chart posted in this channel.")
            )
        return message

    return Prepared(answer, Kind.READ, str(query.address), reads_aws=True)
