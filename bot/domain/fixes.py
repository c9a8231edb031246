"""The fix that fits: what to do about the failures actually seen, most frequent cause first.

From the log, each error code seen gets exactly one fix, naming its evidence: how many, and for
ExpiredToken the clients whose matched failures are all ExpiredToken (a token generated once and
reused past its 15 minutes), for NotAuthorized the refused callers and, where known, the policy
statement to add. Where only the metrics answer (the log export is off), each family with
failures gets its family's fix, said to be by family.

One sentence structure serves every renderer: `describe` takes a Style that formats untrusted
names, trusted prose and paste-ready blocks (plain text here; mrkdwn in bot/views/fixes.py).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from bot.domain.correlate import ClientGroup
from bot.domain.hints import hint_for_code, hint_for_family
from bot.domain.records import Family
from bot.domain.summary import FailureSummary
from bot.domain.text import shown

EXPIRED = "ExpiredToken"
NOT_AUTHORIZED = "NotAuthorized"
# With the statement to add at hand, the documented ARN pattern would only repeat it vaguely.
NOT_AUTHORIZED_FITTED = (
    "The caller's IAM policy does not allow `rds-db:connect` on this database user "
    "(or the database user lacks the `rds_iam` role)."
)
SHOWN_SITES = 3  # reusing clients named in a fix
SHOWN_USERS = 3
SHOWN_CALLERS = 3


@dataclass(frozen=True)
class ReuseSite:
    """A client whose matched failures are all ExpiredToken: tokens are being reused there."""

    address: str
    failures: int
    users: tuple[str, ...]  # the users failing there, most first
    name: str | None = None  # the workload behind the address, where it was resolved


@dataclass(frozen=True)
class Fix:
    """What to do about one cause seen: an error code (from the log) or a family (metrics)."""

    code: str  # the error code; with `by_family`, the family's name
    count: int
    hint: str  # what a person does about it (trusted text)
    by_family: bool = False
    export_off: bool = False  # by family because the log export is off
    users: tuple[str, ...] = ()  # the database users concerned, most first
    reused_at: tuple[ReuseSite, ...] = ()  # ExpiredToken, where client data is known
    callers: tuple[tuple[str, int], ...] = ()  # NotAuthorized: the refused callers, most first
    # NotAuthorized: (the IAM principal whose policy lacks it, the statement to add there).
    statements: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Style:
    """How `describe` writes each kind of text: untrusted names (cut to a limit), trusted prose
    and paste-ready blocks."""

    name: Callable[[str, int], str]
    prose: Callable[[str], str]
    block: Callable[[str], str]


PLAIN = Style(name=shown, prose=lambda text: text, block=lambda text: "\n" + text)


def _ranked(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    return sorted(((k, n) for k, n in counts.items() if n > 0), key=lambda kv: (-kv[1], kv[0]))


def reuse_sites(
    groups: Sequence[ClientGroup], names: Mapping[str, str] | None = None
) -> list[ReuseSite]:
    """The clients whose matched failures are all ExpiredToken, most failures first. A group
    lists its top clients only, so a client is judged on the failures listed for it."""
    codes: dict[str, Counter[str]] = defaultdict(Counter)
    users: dict[str, Counter[str]] = defaultdict(Counter)
    for group in groups:
        for address, n in group.clients:
            codes[address][group.code] += n
            users[address][group.user] += n
    sites = [
        ReuseSite(
            address,
            by_code[EXPIRED],
            tuple(u for u, _ in _ranked(users[address])),
            (names or {}).get(address),
        )
        for address, by_code in codes.items()
        if address and set(by_code) == {EXPIRED}
    ]
    return sorted(sites, key=lambda s: (-s.failures, s.address))


def fixes_seen(
    by_code: Mapping[str, int],
    *,
    users_for_code: Callable[[str], Sequence[str]] | None = None,
    clients: Sequence[ClientGroup] | None = None,
    names: Mapping[str, str] | None = None,
    callers: Sequence[tuple[str, int]] = (),
    statements: Mapping[str, tuple[str, str]] | None = None,
) -> list[Fix]:
    """One fix per error code seen, most failures first (ties by code). `clients`: who failed
    from where, when it was read; `names`: a workload name per client address, where resolved;
    `callers`: the refused callers of NotAuthorized lines; `statements`: per refused caller, the
    IAM principal behind it and the policy statement to add there, where known (the failures
    answer fills it; two sessions of one role give one statement)."""
    sites = reuse_sites(clients, names) if clients is not None else []
    fixes = []
    for code, count in _ranked(by_code):
        users = tuple(users_for_code(code)) if users_for_code else ()
        fix = Fix(code, count, hint_for_code(code), users=users)
        if code == EXPIRED and sites:
            concerned = dict.fromkeys(u for site in sites for u in site.users)
            fix = Fix(code, count, fix.hint, users=tuple(concerned), reused_at=tuple(sites))
        elif code == NOT_AUTHORIZED:
            known = statements or {}
            fitted = any(arn in known for arn, _ in callers)
            fix = Fix(
                code,
                count,
                NOT_AUTHORIZED_FITTED if fitted else fix.hint,
                users=users,
                callers=tuple(callers),
                statements=tuple(dict.fromkeys(known[arn] for arn, _ in callers if arn in known)),
            )
        fixes.append(fix)
    return fixes


def fixes_of_summary(
    summary: FailureSummary,
    *,
    clients: Sequence[ClientGroup] | None = None,
    names: Mapping[str, str] | None = None,
    statements: Mapping[str, tuple[str, str]] | None = None,
) -> list[Fix]:
    """fixes_seen of what a log summary counted."""
    return fixes_seen(
        summary.by_code,
        users_for_code=lambda c: [u for u, _ in summary.users_for_code(c, SHOWN_USERS)],
        clients=clients,
        names=names,
        callers=summary.callers.top(SHOWN_CALLERS),
        statements=statements,
    )


def fixes_by_family(counts: Mapping[Family, int], *, export_off: bool = True) -> list[Fix]:
    """One fix per family with failures, most first: what the metrics alone can tell."""
    ranked = sorted(
        ((f, n) for f, n in counts.items() if n > 0), key=lambda kv: (-kv[1], kv[0].value)
    )
    return [
        Fix(f.value, n, hint_for_family(f), by_family=True, export_off=export_off)
        for f, n in ranked
    ]


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _names(items: Sequence[str], style: Style, limit: int, shown_at_most: int) -> str:
    listed = ", ".join(style.name(item, limit) for item in items[:shown_at_most])
    more = len(items) - shown_at_most
    return listed + (f" and {more:,} more" if more > 0 else "")


def _site(site: ReuseSite, style: Style) -> str:
    where = style.name(site.address, 45)
    if site.name:
        where += f" ({style.name(site.name, 60)})"
    return f"{where} ×{site.failures:,}"


def describe(fix: Fix, style: Style = PLAIN, *, count: bool = True) -> str:
    """The fix as one paragraph: `103 ExpiredToken: the token is older than 15 minutes…`, with
    its evidence. Without `count`, the hint and evidence only (under a heading that names them)."""
    label = style.name(fix.code, 60) + (" (by family)" if fix.by_family else "")
    head = f"{fix.count:,} {label}: " if count else ""
    text = head + style.prose(_lower_first(fix.hint) if count else fix.hint)
    if fix.by_family:
        why = (
            "the log export is off: turn it on to see which code"
            if fix.export_off
            else "the log's codes are not known here"
        )
        return f"{text} {style.prose(f'(By family: {why}.)')}"
    if fix.reused_at:
        sites = ", ".join(_site(s, style) for s in fix.reused_at[:SHOWN_SITES])
        more = len(fix.reused_at) - SHOWN_SITES
        if more > 0:
            sites += f" and {more:,} more"
        text += (
            f" Tokens are being reused at {sites}: every failure matched there is {EXPIRED}"
            f" (users {_names(fix.users, style, 40, SHOWN_USERS)})."
        )
    if fix.callers:
        callers = ", ".join(f"{style.name(arn, 200)} ×{n:,}" for arn, n in fix.callers)
        text += f" Refused: {callers}"
        if fix.users:
            text += f" as database user {_names(fix.users, style, 40, SHOWN_USERS)}"
        text += "."
    for principal, statement in fix.statements:
        text += f" Add to the policy of {style.name(principal, 200)}:{style.block(statement)}"
    return text
