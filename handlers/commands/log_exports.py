"""`/iamauth logs <cluster>` and `/iamauth enable-logs <cluster>` (the offer; its button is in
handlers/actions/enable_logs_button.py)."""

from __future__ import annotations

from bot.domain.access import Kind
from bot.domain.address import Address
from bot.services.log_exports import ExportChange
from bot.views.blocks import Message
from bot.views.log_exports import already_on_message, enable_offer, logs_message
from handlers.commands.args import UsageError, cluster_address
from handlers.context import CommandRequest, Deps, Prepared


def _one_cluster(subcommand: str, words: list[str]) -> Address:
    usage = (
        f"Usage: `/iamauth {subcommand} <cluster>`, for example `/iamauth {subcommand} prod-db`."
    )
    if not words:
        raise UsageError(f"Which cluster? {usage}")
    if len(words) > 1:
        raise UsageError(f"Too many words. {usage}")
    return cluster_address(words[0])


def prepare_logs(request: CommandRequest, deps: Deps) -> Prepared:
    address = _one_cluster("logs", request.words)
    return Prepared(
        lambda: logs_message(deps.log_exports.read(address), str(address)),
        Kind.READ,
        str(address),
        reads_aws=True,
    )


def prepare_enable_logs(request: CommandRequest, deps: Deps) -> Prepared:
    address = _one_cluster("enable-logs", request.words)

    def offer() -> Message:
        exports = deps.log_exports.read(address)
        info = exports.cluster
        if info.iam_log_export_on or info.iam_log_export_pending:
            return already_on_message(ExportChange(info, exports.place, requested=False))
        return enable_offer(info, str(address), exports.place)

    return Prepared(offer, Kind.ADMIN, str(address))
