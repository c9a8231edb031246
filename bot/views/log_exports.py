"""Replies of `/iamauth logs` and `/iamauth enable-logs`, and the messages that follow the change."""

from __future__ import annotations

from datetime import timedelta

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, ConfirmObject

from bot.adapters.aws.errors import AwsError, ChangeDenied, ClusterBusy
from bot.domain.cluster import (
    CLUSTER,
    IAM_LOG_EXPORT,
    INSTANCE,
    POSTGRESQL_EXPORT,
    ClusterInfo,
    Kind,
    iam_log_group,
)
from bot.domain.window import format_duration
from bot.services.log_exports import ExportChange, LogExports
from bot.views.blocks import Message, context, section
from bot.views.mrkdwn import code, escape

ENABLE_LOGS_ACTION = "iamauth_enable_logs"
# What each export gives iamauth; the others are listed as "not read by iamauth".
EXPORT_USES = {
    IAM_LOG_EXPORT: "who failed and why: database user, error code, reason and the refused "
    "role, read by `failures` and the digests",
    POSTGRESQL_EXPORT: "the engine's view of the same failures: client IP and port, database "
    "and backend pid (no reason)",
}
NO_REBOOT = "*No reboot and no dropped connections*: only the log export changes."
# RDS applies a DB instance's log-export change at once, whatever ApplyImmediately says (the
# ModifyDBInstance reference), and its list of DB instance settings has it causing no downtime.
INSTANCE_NO_REBOOT = (
    "*Applied at once, with no reboot*: RDS applies a DB instance's log-export change "
    "immediately and lists it as causing no downtime; only the log export changes."
)
SHORT_NO_REBOOT: dict[Kind, str] = {
    CLUSTER: "no reboot, no dropped connections",
    INSTANCE: "no reboot",
}


def no_reboot(kind: Kind) -> str:
    return NO_REBOOT if kind == CLUSTER else INSTANCE_NO_REBOOT


def noun(kind: Kind) -> str:
    """How a reply names the database: `cluster` or `instance`."""
    return "cluster" if kind == CLUSTER else "instance"


def modify_api(kind: Kind) -> str:
    return "ModifyDBCluster" if kind == CLUSTER else "ModifyDBInstance"


def _modify_call(kind: Kind) -> str:
    return (
        f"`{modify_api(kind)}` with "
        '`CloudwatchLogsExportConfiguration={"EnableLogTypes": ["iam-db-auth-error"]}` '
        "and `ApplyImmediately=True`"
    )


def _log_group(info: ClusterInfo) -> str:
    return code(iam_log_group(info.identifier, info.kind), 120)


def _where(cluster: str, place: str) -> str:
    return code(cluster, 70) + (f" ({code(place, 40)})" if place else "")


def _command(subcommand: str, address: str) -> str:
    """A command to copy; the address was validated (letters, digits, `-`, `/`), escaped anyway."""
    return f"`/iamauth {subcommand} {escape(address)}`"


def _export_line(name: str, info: ClusterInfo) -> str:
    use = EXPORT_USES.get(name, "not read by iamauth")
    if name in info.log_exports:
        state = ":large_green_circle: *on*"
    elif name in info.pending_log_exports:
        status = code(info.status, 30)
        state = f":hourglass_flowing_sand: *being turned on* ({noun(info.kind)} {status})"
    else:
        state = ":white_circle: *off*"
    return f"{state} {code(name, 60)}: {use}"


def _shown_exports(info: ClusterInfo) -> list[str]:
    """The iamauth export always; `postgresql` where the engine has it; any other that is on."""
    names = [IAM_LOG_EXPORT]
    if "postgres" in info.engine or POSTGRESQL_EXPORT in info.log_exports:
        names.append(POSTGRESQL_EXPORT)
    others = sorted({*info.log_exports, *info.pending_log_exports} - set(names))
    return names + others


def logs_message(exports: LogExports, address: str) -> Message:
    info = exports.cluster
    lines = [_export_line(name, info) for name in _shown_exports(info)]
    blocks: list[Block] = [
        section(f"*Log exports of {_where(info.identifier, exports.place)}*\n" + "\n".join(lines))
    ]
    if not info.iam_auth_enabled:
        blocks.append(
            section(
                ":information_source: IAM database authentication is *not enabled* on this "
                f"{noun(info.kind)}: no connection uses it, so its log would stay empty."
            )
        )
    if info.iam_log_export_on:
        blocks.append(
            context(
                f"The log group {_log_group(info)} appears with the first failed IAM "
                "login after the export was turned on."
            )
        )
    elif not info.iam_log_export_pending:
        blocks.append(
            section(
                f"Without {code(IAM_LOG_EXPORT)} iamauth only has the CloudWatch counts. "
                f"Admins can turn it on with {_command('enable-logs', address)}: "
                f"{SHORT_NO_REBOOT[info.kind]}."
            )
        )
    blocks.append(
        context(
            f"{noun(info.kind).capitalize()} status {code(info.status, 30)} · "
            f"engine {code(info.engine, 40)}"
        )
    )
    state = "on" if info.iam_log_export_on else "off"
    return Message(
        text=f"{escape(info.identifier)}: {IAM_LOG_EXPORT} export {state}", blocks=blocks
    )


def already_on_message(change: ExportChange) -> Message:
    info = change.cluster
    where = _where(info.identifier, change.place)
    if info.iam_log_export_on:
        text = f":large_green_circle: The {code(IAM_LOG_EXPORT)} export of {where} is already on."
    else:
        text = (
            f":hourglass_flowing_sand: The {code(IAM_LOG_EXPORT)} export of {where} is already "
            f"being turned on ({noun(info.kind)} {code(info.status, 30)}); `/iamauth logs` shows "
            "when it is done."
        )
    return Message(
        text=f"{escape(info.identifier)}: {IAM_LOG_EXPORT} export already on",
        blocks=[section(text)],
    )


def enable_offer(info: ClusterInfo, address: str, place: str) -> Message:
    """The admin's ephemeral offer: what will happen, and a button that asks once more."""
    cluster = code(info.identifier, 70)
    button = ButtonElement(
        text="Turn on",
        action_id=ENABLE_LOGS_ACTION,
        value=address,
        style="primary",
        confirm=ConfirmObject(
            title="Turn on the iam-db-auth-error export?",
            text=f"{modify_api(info.kind)} on {cluster}, applied immediately: "
            f"{SHORT_NO_REBOOT[info.kind]}. The {noun(info.kind)} shows `modifying` for a few "
            "minutes.",
            confirm="Turn on",
            deny="Cancel",
        ),
    )
    blocks: list[Block] = [
        section(
            f"*Turn on the {code(IAM_LOG_EXPORT)} log export of {_where(info.identifier, place)}?*"
            f"\niamauth will call {_modify_call(info.kind)}.\n"
            f"• {no_reboot(info.kind)}\n"
            f"• The {noun(info.kind)} shows `modifying` for a few minutes; iamauth says so in "
            "this channel and replies in that thread when it is `available` again.\n"
            f"• The log group {_log_group(info)} appears with the first failed IAM "
            "login after that, not before. CloudWatch Logs bills one line per failed login."
        ),
        ActionsBlock(elements=[button]),
        context("Not now? Ignore this message: nothing changes until someone clicks *Turn on*."),
    ]
    return Message(
        text=f"Turn on the {IAM_LOG_EXPORT} export of {escape(info.identifier)}?", blocks=blocks
    )


def enable_requested(change: ExportChange, user: str) -> Message:
    """Posted in the channel: who turned it on and what to expect; the follow-ups are its thread."""
    who = f"<@{user}>" if user else "An admin"
    text = (
        f":gear: {who} turned on the {code(IAM_LOG_EXPORT)} log export of "
        f"{_where(change.cluster.identifier, change.place)}.\n{no_reboot(change.cluster.kind)} "
        f"The {noun(change.cluster.kind)} shows `modifying` for a few minutes; I will reply in "
        "this thread when it is `available` again."
    )
    return Message(
        text=f"{escape(change.cluster.identifier)}: turning on the {IAM_LOG_EXPORT} export",
        blocks=[section(text)],
    )


def clicked_reply(cluster: str) -> Message:
    """Replaces the offer, so the button cannot be clicked twice."""
    return Message(
        text=f"Turning on the {IAM_LOG_EXPORT} export of {escape(cluster)}",
        blocks=[
            section(
                f":gear: Turning on the {code(IAM_LOG_EXPORT)} export of {code(cluster, 70)}: see the channel."
            )
        ],
    )


def enable_done(info: ClusterInfo) -> Message:
    on = ", ".join(code(name, 60) for name in info.log_exports)
    text = (
        f":white_check_mark: {code(info.identifier, 70)} is `available` again and the "
        f"{code(IAM_LOG_EXPORT)} export is on (exports on: {on}). The log group "
        f"{_log_group(info)} appears with the first failed IAM login; "
        "`/iamauth failures` reads it from then on."
    )
    return Message(
        text=f"{escape(info.identifier)}: {IAM_LOG_EXPORT} export on", blocks=[section(text)]
    )


def enable_not_done(
    cluster: str, address: str, waited_seconds: float, problem: str = ""
) -> Message:
    """After the timeout (or when the cluster could not be read): how to check by hand."""
    if problem:
        first = f":warning: Could not follow {code(cluster, 70)}: {code(problem, 300)}."
    else:
        waited = _duration(waited_seconds)
        first = (
            f":hourglass_flowing_sand: {code(cluster, 70)} is not `available` with the export on "
            f"after {waited}: it is probably still modifying."
        )
    return Message(
        text=f"{escape(cluster)}: the {IAM_LOG_EXPORT} export is not confirmed yet",
        blocks=[section(f"{first} Check with {_command('logs', address)}.")],
    )


def _duration(seconds: float) -> str:
    return f"{round(seconds)} s" if seconds < 60 else format_duration(timedelta(seconds=seconds))


def change_refused(error: AwsError) -> str:
    """Why turning the export on did not happen, with what to do next from Slack."""
    if isinstance(error, ClusterBusy):
        return f"{error} Try again when `/iamauth logs` shows it `available`."
    if isinstance(error, ChangeDenied):
        return f"The bot may not call {error.action} (only `enable-logs` needs it; {error.remedy})."
    return str(error)
