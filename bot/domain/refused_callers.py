"""Callers refused `rds-db:connect` (NotAuthorized lines): who they are, the exact resource they
were refused, and the least-privilege statement that allows it.

A caller ARN comes from a log line, and a database user name from any client that reaches the
database: both are untrusted. They are read with strict patterns (ASCII, IAM's own character sets
and lengths); an ARN that does not read as an IAM role, user or assumed-role session names no
principal, and no statement is ever built from it. A user name holding a character that is not
plainly literal in a policy's Resource (`*` and `?` are wildcards, `$` starts a variable) gets no
ARN either: a statement for it could allow more than that user.

An assumed-role session ARN (`arn:aws:sts::111122223333:assumed-role/name/session`) names the
role but not its path: the role's ARN is `…:role/name` only when the role has no path. The bot
asks IAM (`iam:GetRole`) where it may; otherwise it says the path may be missing.

AWS's documentation: the principal must be in the database's account. A caller from another
account connects by assuming a role in the database's account that carries the statement.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

CONNECT_ACTION = "rds-db:connect"
MAX_ARN = 2048
# A caller refused for many user names (any client can send any name) gets a statement for its
# most refused few: paste-ready, within Slack's section and IAM's policy size.
MAX_RESOURCES = 5
MAX_USERS = 20

_PARTITION = r"aws(?:-cn|-us-gov|-iso|-iso-[a-z])?|aws-eusc"
_ACCOUNT = r"\d{12}"
# IAM names: role names up to 64, user names up to 64, session names 2 to 64 characters.
_NAME = r"[A-Za-z0-9+=,.@_-]{1,64}"
_SESSION = r"[A-Za-z0-9+=,.@_-]{2,64}"
# An IAM path: `/` or `/a/b/`, up to 512 characters.
_PATH = r"/(?:[A-Za-z0-9+=,.@_-]+/){0,50}"

_ASSUMED = re.compile(
    rf"arn:(?P<partition>{_PARTITION}):sts::(?P<account>{_ACCOUNT}):"
    rf"assumed-role/(?P<name>{_NAME})/(?P<session>{_SESSION})",
    re.ASCII,
)
_IAM = re.compile(
    rf"arn:(?P<partition>{_PARTITION}):iam::(?P<account>{_ACCOUNT}):"
    rf"(?P<kind>role|user)(?P<path>{_PATH})(?P<name>{_NAME})",
    re.ASCII,
)
_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d{1,2}", re.ASCII)
_RESOURCE_ID = re.compile(r"(?:cluster|db)-[A-Za-z0-9]{1,64}", re.ASCII)
# Database user names a Resource names literally: no wildcard, variable or separator.
_SAFE_USER = re.compile(r"[A-Za-z0-9_.@+=,-]{1,128}", re.ASCII)
_DB_USER_ARN = re.compile(
    rf"arn:(?:{_PARTITION}):rds-db:{_REGION.pattern}:{_ACCOUNT}:dbuser:"
    rf"{_RESOURCE_ID.pattern}/{_SAFE_USER.pattern}",
    re.ASCII,
)

Kind = Literal["assumed-role", "role", "user"]


@dataclass(frozen=True)
class Caller:
    """A refused caller, read from its ARN."""

    arn: str
    partition: str
    account: str
    kind: Kind
    name: str  # the role's or user's name
    session: str = ""  # an assumed role's session name
    path: str | None = "/"  # None: not in the ARN (an assumed-role session)

    @property
    def principal_kind(self) -> Literal["role", "user"]:
        return "user" if self.kind == "user" else "role"

    @property
    def principal_arn(self) -> str:
        """The IAM role or user behind the caller; for a session, the role as if it had no path."""
        return (
            f"arn:{self.partition}:iam::{self.account}:"
            f"{self.principal_kind}{self.path or '/'}{self.name}"
        )

    @property
    def path_unknown(self) -> bool:
        return self.path is None


def parse_caller(arn: str) -> Caller | None:
    """The caller an ARN names, or None when it does not read as an IAM role, user or
    assumed-role session (root, a federated user, a service, or any other text)."""
    if len(arn) > MAX_ARN:
        return None
    found = _ASSUMED.fullmatch(arn)
    if found:
        return Caller(
            arn,
            found["partition"],
            found["account"],
            "assumed-role",
            found["name"],
            found["session"],
            None,
        )
    found = _IAM.fullmatch(arn)
    if found and len(found["path"]) <= 512:
        kind: Kind = "role" if found["kind"] == "role" else "user"
        return Caller(
            arn, found["partition"], found["account"], kind, found["name"], "", found["path"]
        )
    return None


def is_principal_arn(arn: str) -> bool:
    """Whether `arn` reads as an IAM role or user ARN (what a simulation or statement is for)."""
    caller = parse_caller(arn)
    return caller is not None and caller.kind != "assumed-role"


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


@dataclass(frozen=True)
class DbPlace:
    """Where the database is: its account and region, and its resource id (DbClusterResourceId
    `cluster-…` or DbiResourceId `db-…`)."""

    account: str
    region: str
    resource_id: str

    @property
    def valid(self) -> bool:
        return bool(
            re.fullmatch(_ACCOUNT, self.account, re.ASCII)
            and _REGION.fullmatch(self.region)
            and _RESOURCE_ID.fullmatch(self.resource_id)
        )


def db_user_arn(place: DbPlace, user: str) -> str | None:
    """`arn:aws:rds-db:<region>:<account>:dbuser:<resource-id>/<user>`, or None when the place is
    not known well enough or the user name is not plainly literal in a policy."""
    if not place.valid or not _SAFE_USER.fullmatch(user):
        return None
    partition = partition_of(place.region)
    return (
        f"arn:{partition}:rds-db:{place.region}:{place.account}:dbuser:{place.resource_id}/{user}"
    )


def policy_statement(role_arn: str, resource_arns: Sequence[str]) -> str:
    """The least-privilege statement to add to `role_arn`'s policy (an IAM role or user ARN):
    `rds-db:connect` on exactly these database users. ValueError for anything that does not read
    as such ARNs: a statement is never built from unparsed text."""
    principal = parse_caller(role_arn)
    if principal is None or principal.kind == "assumed-role":
        raise ValueError("not an IAM role or user ARN")
    if not resource_arns or not all(_DB_USER_ARN.fullmatch(arn) for arn in resource_arns):
        raise ValueError("not rds-db dbuser ARNs")
    sid = "AllowRdsDbConnect" + re.sub(r"[^A-Za-z0-9]", "", principal.name)[:40]
    statement = {
        "Sid": sid,
        "Effect": "Allow",
        "Action": CONNECT_ACTION,
        "Resource": sorted(set(resource_arns)),
    }
    return json.dumps(statement, indent=2)


# What the IAM policy simulator found ------------------------------------------------------------
Decision = Literal["allowed", "implicitDeny", "explicitDeny"]
NOT_CHECKED = "not checked"


@dataclass(frozen=True)
class MatchedPolicy:
    policy_id: str  # SourcePolicyId
    policy_type: str  # SourcePolicyType: role, user, group, aws-managed, user-managed, …

    def describe(self) -> str:
        return f"{self.policy_id} ({self.policy_type})" if self.policy_type else self.policy_id


@dataclass(frozen=True)
class Simulation:
    """`iam:SimulatePrincipalPolicy` of rds-db:connect for one principal on its resources.
    `decision` None: not checked, `why_not` says why."""

    decision: Decision | None
    why_not: str = ""
    # Per resource ARN, when the simulator decided them apart.
    by_resource: dict[str, Decision] = field(default_factory=dict)
    matched: tuple[MatchedPolicy, ...] = ()  # the statements that decided (deny ones for a deny)
    boundary_allows: bool | None = None  # PermissionsBoundaryDecisionDetail (None: no boundary)
    organizations_allow: bool | None = None  # OrganizationsDecisionDetail (None: not evaluated)
    missing_context: tuple[str, ...] = ()  # condition keys the simulation lacked

    @classmethod
    def not_checked(cls, why: str) -> Simulation:
        return cls(None, why)

    def denied_resources(self, asked: Sequence[str]) -> list[str]:
        """The resources the simulator did not allow (all asked when it did not say apart)."""
        if not self.by_resource:
            return list(asked) if self.decision != "allowed" else []
        return [arn for arn in asked if self.by_resource.get(arn, self.decision) != "allowed"]


def combined_decision(decisions: Sequence[Decision]) -> Decision:
    """An explicit deny wins, then an implicit one; allowed only when every one is."""
    if "explicitDeny" in decisions:
        return "explicitDeny"
    if "implicitDeny" in decisions or not decisions:
        return "implicitDeny"
    return "allowed"


def grant_text(users: Sequence[str], mysql: bool = False) -> str:
    """What the database user needs for IAM authentication, for the first few users whose names
    read plainly (others as `<user>`)."""
    safe = [u for u in users[:3] if _SAFE_USER.fullmatch(u)] or ["<user>"]
    if mysql:
        return "; ".join(
            f"CREATE USER {u} IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'" for u in safe
        )
    return "; ".join(f"GRANT rds_iam TO {u}" for u in safe)


def outcome_text(
    simulation: Simulation | None, users: Sequence[str] = (), *, mysql: bool = False
) -> str:
    """The simulator's finding in words (plain text: the views escape it)."""
    if simulation is None or simulation.decision is None:
        why = simulation.why_not if simulation else "no IAM principal could be read from the ARN"
        return f"{NOT_CHECKED} ({why})"
    if simulation.decision == "allowed":
        return (
            "allowed: the IAM policies allow it (the simulation includes the permissions "
            "boundary and the organisation's SCPs), so look at the database user (it needs `"
            + grant_text(users, mysql)
            + "`), or a session policy passed when the role was assumed, or a condition on the "
            "live request: the simulator sees neither of these"
        )
    if simulation.decision == "explicitDeny":
        if simulation.organizations_allow is False:
            return "explicit deny by a service control policy of the organisation (SCP)"
        if simulation.boundary_allows is False:
            return "denied by the role's permissions boundary"
        named = ", ".join(p.describe() for p in simulation.matched) or "a policy not named"
        return f"explicit deny by {named}"
    if simulation.boundary_allows is False:
        return "implicit deny: the role's permissions boundary does not allow it"
    missing = (
        f" (the simulation lacked condition keys {', '.join(simulation.missing_context[:5])})"
        if simulation.missing_context
        else ""
    )
    return f"implicit deny: no statement allows it: add the statement below{missing}"


# The analysis of one refused caller ---------------------------------------------------------------
@dataclass(frozen=True)
class RefusedCaller:
    arn: str  # as the log named it
    count: int
    caller: Caller | None  # None: not read as a role, user or session
    users: tuple[tuple[str, int], ...]  # database users refused, most first (MAX_USERS)
    db_account: str
    resource_arns: tuple[str, ...]  # one per user a policy can name literally
    unsafe_users: tuple[str, ...] = ()  # users no ARN is built for
    role_arn: str | None = None  # the IAM principal (resolved path, when IAM said it)
    path_resolved: bool = False
    simulation: Simulation | None = None
    mysql: bool = False  # a MySQL or MariaDB engine: users are created with the AWS plugin
    more_users: int = 0  # refused users beyond MAX_USERS

    @property
    def cross_account(self) -> bool:
        known = re.fullmatch(_ACCOUNT, self.db_account, re.ASCII) is not None
        return known and self.caller is not None and self.caller.account != self.db_account

    @property
    def path_note(self) -> str:
        if self.caller is None or not self.caller.path_unknown or self.path_resolved:
            return ""
        return (
            "the session ARN does not carry the role's path: if the role has one, its ARN "
            "holds it (IAM's GetRole tells)"
        )

    def statement(self) -> str | None:
        """The statement to add, for the resources not allowed (all, when not simulated). None
        when IAM allows it (the cause is elsewhere) or denies it explicitly (an Allow would not
        help: the denying policy must change)."""
        if self.role_arn is None or not self.resource_arns:
            return None
        checked = self.simulation is not None and self.simulation.decision is not None
        if checked and self.simulation and self.simulation.decision != "implicitDeny":
            return None
        resources = (
            self.simulation.denied_resources(self.resource_arns)
            if checked and self.simulation
            else list(self.resource_arns)
        )
        if not resources:
            return None
        try:
            return policy_statement(self.role_arn, resources)
        except ValueError:
            return None

    def outcome(self) -> str:
        if self.caller is None:
            return f"{NOT_CHECKED} (the ARN does not read as an IAM role, user or session)"
        if self.cross_account:
            return (
                f"{NOT_CHECKED} (the caller is in account {self.caller.account}, the database in "
                f"{self.db_account}: its policies are not visible from here. AWS requires the "
                "principal to be in the database's account: assume a role there that carries "
                "the statement)"
            )
        return outcome_text(self.simulation, [u for u, _ in self.users], mysql=self.mysql)


def read_refused(
    callers: Sequence[tuple[str, int]],
    users_of: dict[str, list[tuple[str, int]]],
    place: DbPlace,
    *,
    mysql: bool = False,
) -> list[RefusedCaller]:
    """Each refused caller, read: principal, account, exact resource ARNs (before simulation)."""
    found: list[RefusedCaller] = []
    for arn, count in callers:
        caller = parse_caller(arn)
        named = users_of.get(arn, [])
        users = tuple(named[:MAX_USERS])
        resources: list[str] = []
        unsafe: list[str] = []
        for user, _ in users:
            resource = db_user_arn(place, user)
            if resource is not None:
                if len(resources) < MAX_RESOURCES:
                    resources.append(resource)
            elif place.valid:
                unsafe.append(user)
        found.append(
            RefusedCaller(
                arn,
                count,
                caller,
                users,
                place.account,
                tuple(resources),
                tuple(unsafe),
                caller.principal_arn if caller is not None else None,
                mysql=mysql,
                more_users=max(len(named) - MAX_USERS, 0),
            )
        )
    return found
