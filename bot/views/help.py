"""`/iamauth help`, and the help an unknown subcommand is answered with."""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot.views.blocks import Message, context, section
from bot.views.mrkdwn import escape

HELP_TEXT = (
    "*iamauth* answers questions about IAM database authentication on your Aurora clusters and "
    "RDS DB instances (PostgreSQL, MySQL, MariaDB); `<cluster>` is either's identifier, "
    "`cluster:<name>` or `instance:<name>` where both have the name.\n"
    "• `/iamauth failures <cluster> [window] [clients]`: failed IAM logins by error code and "
    "database user, with samples and fix hints; `clients` adds who failed from where (client "
    "addresses and databases, from the `postgresql` log export)\n"
    "• `/iamauth metrics <cluster> [window]`: the seven `IamDbAuth*` CloudWatch metrics, and "
    "their chart posted in the channel\n"
    "• `/iamauth watch <cluster> [#channel] [invalid_token>=5/5m] [insufficient_permissions>=1/15m] "
    "[repeat=4h] [resolved=no]`: post a digest when failures cross a threshold; "
    "`/iamauth watch` alone opens a form\n"
    "• `/iamauth unwatch <cluster> [#channel]`, `/iamauth watches`: stop, list\n"
    "• `/iamauth silence <cluster> <duration> [reason]` (alone: a form), "
    "`/iamauth unsilence <cluster>`\n"
    "• The app's *Home* tab: every watched cluster you may read, its state and last-24h failures\n"
    "• `/iamauth clusters`: every cluster and DB instance with IAM auth, its log export and "
    "last-24h failures\n"
    "• `/iamauth logs <cluster>`: which log exports are on and what each gives iamauth\n"
    "• `/iamauth enable-logs <cluster>`: turn the `iam-db-auth-error` export on, after a confirm "
    "(admins; no reboot)\n"
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
