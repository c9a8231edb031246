"""`iamauth doctor`: is the Slack token good, who is the bot in AWS, and may it call what it needs?

Each AWS permission is checked by calling the API harmlessly: a read that is allowed answers (or
says the probed resource does not exist), one that is not allowed says AccessDenied. With
`[[target]] role_arn`, each role is assumed once, as the bot will (sts:AssumeRole).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.parsers import ResponseParserError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.adapters.aws.clients import AwsClients
from bot.adapters.aws.errors import (
    ACCESS_DENIED_CODES,
    BOTOCORE_ERRORS,
    AwsError,
    aws_error,
    error_code,
)
from bot.adapters.aws.targets import TargetSpec
from bot.domain.insights_query import EVENTS_QUERY
from bot.domain.metrics import NAMESPACE

if TYPE_CHECKING:
    from mypy_boto3_sts.type_defs import AssumeRoleRequestTypeDef

PROBE_GROUP = "/aws/rds/cluster/iamauth-doctor-probe/iam-db-auth-error"
PROBE_POSTGRESQL_GROUP = "/aws/rds/cluster/iamauth-doctor-probe/postgresql"
# No such role: NoSuchEntity proves the IAM call itself is allowed.
PROBE_ROLE = "iamauth-doctor-probe"
# No such group: DBParameterGroupNotFound proves the call itself is allowed.
PROBE_PARAMETER_GROUP = "iamauth-doctor-probe"
# The bot scopes of manifest.yml, and what each is for.
SLACK_SCOPES = {
    "commands": "the /iamauth command",
    "chat:write": "answers and digests",
    "channels:history": "finding a digest posted before a crash",
    "groups:history": "the same in private channels",
    "usergroups:read": "admins and owners named by user group",
    "files:write": "charts",
}


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    # Set for what only one feature needs: missing, that feature fails and the rest works.
    only_for: str = ""


def _aws_check(
    name: str,
    call: Callable[[], Any],
    fine_codes: frozenset[str] = frozenset(),
    only_for: str = "",
    missing: str = "add it to the bot's IAM policy (docs/iam-policy.json)",
) -> Check:
    try:
        call()
    except (*BOTOCORE_ERRORS, AwsError) as error:
        code = error_code(error)
        if code in fine_codes:
            return Check(name, True, f"allowed ({code} for the probe)", only_for)
        if code in ACCESS_DENIED_CODES:
            return Check(name, False, f"missing: {missing}", only_for)
        return Check(name, False, _sentence(error, name), only_for)
    return Check(name, True, "allowed", only_for)


def _sentence(error: Exception, action: str) -> str:
    """What went wrong, in the adapters' words."""
    translated = error if isinstance(error, AwsError) else aws_error(error, "AWS", action)
    return str(translated)


def _scopes_check(granted_header: str | None) -> Check | None:
    """The scopes the token has (Slack sends them in `x-oauth-scopes`), against manifest.yml."""
    if granted_header is None:
        return None
    granted = {s.strip() for s in granted_header.split(",")}
    missing = [f"{s} ({why})" for s, why in SLACK_SCOPES.items() if s not in granted]
    if not missing:
        return Check("Slack scopes", True, ", ".join(SLACK_SCOPES))
    return Check(
        "Slack scopes",
        False,
        f"missing {', '.join(missing)}: update the app from manifest.yml and reinstall it",
    )


def run_checks(
    aws: AwsClients | AwsError, slack: WebClient | None, targets: Sequence[TargetSpec] = ()
) -> list[Check]:
    """`aws`: the bot's own clients, or why they could not be built (an unknown profile…)."""
    checks: list[Check] = []
    if slack is None:
        checks.append(Check("Slack token", False, "SLACK_BOT_TOKEN is not set"))
    else:
        try:
            auth = slack.auth_test()
            checks.append(
                Check(
                    "Slack token",
                    True,
                    f"bot user {auth.get('user_id')} in team {auth.get('team_id')}",
                )
            )
            headers = {k.lower(): v for k, v in (auth.headers or {}).items()}
            scopes = _scopes_check(_header(headers.get("x-oauth-scopes")))
            if scopes is not None:
                checks.append(scopes)
        except SlackApiError as error:
            checks.append(Check("Slack token", False, f"auth.test: {error.response.get('error')}"))
    if isinstance(aws, AwsError):
        checks.append(Check("AWS identity", False, str(aws)))
        return checks
    try:
        identity = aws.sts().get_caller_identity()
        checks.append(Check("AWS identity", True, str(identity.get("Arn"))))
    except (*BOTOCORE_ERRORS, AwsError) as error:
        checks.append(Check("AWS identity", False, _sentence(error, "sts:GetCallerIdentity")))
        return checks
    now = datetime.now(UTC)
    checks.append(
        _aws_check("rds:DescribeDBClusters", lambda: aws.rds().describe_db_clusters(MaxRecords=20))
    )
    # Every name is looked up as an Aurora cluster and as an RDS DB instance. (The Modify calls of
    # `enable-logs` are not probed: no call to them is harmless.)
    checks.append(
        _aws_check(
            "rds:DescribeDBInstances", lambda: aws.rds().describe_db_instances(MaxRecords=20)
        )
    )
    checks.append(
        _aws_check(
            "logs:FilterLogEvents",
            lambda: aws.logs().filter_log_events(logGroupName=PROBE_GROUP, limit=1),
            frozenset({"ResourceNotFoundException"}),
        )
    )
    checks.append(
        _aws_check(
            "logs:FilterLogEvents (postgresql log)",
            lambda: aws.logs().filter_log_events(logGroupName=PROBE_POSTGRESQL_GROUP, limit=1),
            frozenset({"ResourceNotFoundException"}),
            only_for="who failed from where (`failures … clients`)",
        )
    )
    checks.append(_start_query_check(aws, now))
    checks.append(
        _aws_check(
            "rds:DescribeDBClusterParameters",
            lambda: aws.rds().describe_db_cluster_parameters(
                DBClusterParameterGroupName=PROBE_PARAMETER_GROUP, MaxRecords=20
            ),
            frozenset({"DBParameterGroupNotFound"}),
            only_for="a custom PostgreSQL log format in `failures … clients`",
        )
    )
    checks.append(
        _aws_check(
            "cloudwatch:GetMetricData",
            lambda: aws.cloudwatch().get_metric_data(
                MetricDataQueries=[
                    {
                        "Id": "probe",
                        "MetricStat": {
                            "Metric": {
                                "Namespace": NAMESPACE,
                                "MetricName": "IamDbAuthConnectionRequests",
                            },
                            "Period": 300,
                            "Stat": "Sum",
                        },
                    }
                ],
                StartTime=now - timedelta(minutes=10),
                EndTime=now,
            ),
        )
    )
    partition = (str(identity.get("Arn") or "") + ":aws:").split(":")[1] or "aws"
    checks.extend(_iam_checks(aws, partition, str(identity.get("Account", ""))))
    checks.extend(_ec2_checks(aws))
    checks.extend(_assume_role_check(aws, spec) for spec in targets if spec.role_arn)
    return checks


def _iam_checks(aws: AwsClients, partition: str, account: str) -> list[Check]:
    """The optional IAM reads of a NotAuthorized answer, probed on a role that does not exist
    (NoSuchEntity proves the call is allowed)."""
    probe_role = f"arn:{partition}:iam::{account}:role/{PROBE_ROLE}"

    def simulate() -> None:
        _readable(
            lambda: aws.iam().simulate_principal_policy(
                PolicySourceArn=probe_role, ActionNames=["rds-db:connect"]
            )
        )

    return [
        _aws_check(
            "iam:SimulatePrincipalPolicy",
            simulate,
            frozenset({"NoSuchEntity"}),
            only_for="IAM's decision for each refused caller (NotAuthorized)",
        ),
        _aws_check(
            "iam:GetRole",
            lambda: _readable(lambda: aws.iam().get_role(RoleName=PROBE_ROLE)),
            frozenset({"NoSuchEntity"}),
            only_for="the path of a refused assumed role (its session ARN leaves it out)",
        ),
    ]


def _ec2_checks(aws: AwsClients) -> list[Check]:
    """The optional EC2 reads that name the workload behind a client address: a filter on an
    address of the documentation range (192.0.2.0/24) finds nothing and changes nothing."""
    only_for = "naming the workload behind each client address (`failures … clients`)"
    return [
        _aws_check(
            "ec2:DescribeNetworkInterfaces",
            lambda: aws.ec2().describe_network_interfaces(
                Filters=[{"Name": "addresses.private-ip-address", "Values": ["192.0.2.1"]}]
            ),
            only_for=only_for,
        ),
        _aws_check(
            "ec2:DescribeInstances",
            lambda: aws.ec2().describe_instances(
                Filters=[{"Name": "private-ip-address", "Values": ["192.0.2.1"]}]
            ),
            only_for=only_for + ": the instance's Name tag and Auto Scaling group",
        ),
    ]


def _readable(call: Callable[[], Any]) -> None:
    """An answer botocore cannot read (an emulator lacking the API) said as an AwsError."""
    try:
        call()
    except ResponseParserError:
        raise AwsError(
            "IAM's answer could not be read (the endpoint may not implement it)"
        ) from None


def _start_query_check(aws: AwsClients, now: datetime) -> Check:
    """logs:StartQuery on the probe group (which does not exist: ResourceNotFoundException proves
    the call is allowed; a query that did start is stopped at once). GetQueryResults and
    StopQuery need a query of our own: no harmless call proves them, so the detail names them."""

    def probe() -> None:
        started = aws.logs().start_query(
            logGroupName=PROBE_GROUP,
            startTime=int((now - timedelta(minutes=1)).timestamp()),
            endTime=int(now.timestamp()),
            queryString=EVENTS_QUERY,
            limit=1,
        )
        with contextlib.suppress(*BOTOCORE_ERRORS):
            aws.logs().stop_query(queryId=started["queryId"])

    check = _aws_check(
        "logs:StartQuery",
        probe,
        frozenset({"ResourceNotFoundException"}),
        only_for="exact counts of windows too big to read in time (Logs Insights)",
    )
    if not check.ok:
        return check
    return replace(
        check, detail=f"{check.detail}; logs:GetQueryResults and logs:StopQuery are not probed"
    )


def _assume_role_check(aws: AwsClients, spec: TargetSpec) -> Check:
    """Assume the target's role once, as the bot will: its policy must allow sts:AssumeRole on
    the role, and the role's trust policy must trust the bot (with the external id, if set)."""
    request: AssumeRoleRequestTypeDef = {
        "RoleArn": spec.role_arn or "",
        "RoleSessionName": spec.session_name,
        "DurationSeconds": 900,
    }
    if spec.external_id:
        request["ExternalId"] = spec.external_id
    return _aws_check(
        f"sts:AssumeRole (target {spec.name}: {spec.role_arn})",
        lambda: aws.sts().assume_role(**request),
        missing=(
            "refused: allow sts:AssumeRole on this role in the bot's IAM policy "
            "(docs/iam-policy.json), and trust the bot's identity in the role's trust policy"
            + (" with this external_id" if spec.external_id else "")
        ),
    )


def _header(value: Any) -> str | None:
    """A header's value; urllib may hand a repeated header over as a list."""
    if value is None:
        return None
    return ",".join(value) if isinstance(value, list) else str(value)
