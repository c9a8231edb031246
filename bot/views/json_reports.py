"""The documented JSON shapes of `iamauth failures --json` and `iamauth metrics --json`.

`iamauth failures --json` counts the window's failures `by_code`, `by_family`, `by_user` and
`by_caller` (the refused caller ARN of NotAuthorized lines → failures), each most first; README.md
shows the whole shape.

`path` says which read answered: `"filter"` (FilterLogEvents read the window) or `"insights"`
(the window was too big to read within `[limits] exact_read_seconds`, so Logs Insights counted
every failure by code, user and caller; first/last seen are the whole window's, the samples the
newest lines').

With `truncated` true (the event cap stopped the log read; the newest events are counted),
`covered_from` is where the read began (events before it were not read); it is null otherwise.
`metrics` holds the window's CloudWatch totals, which count every failure even when the log read
is truncated: `{"requests": 130, "failures": 125, "by_family": {"InvalidToken": 120,
"InsufficientPermissions": 5, "Throttling": 0, "ServerError": 0}}` (`Other` has no metric).

`kind` is `"cluster"` (Aurora) or `"instance"` (an RDS DB instance); `log_group` the
`iam-db-auth-error` group read.

`callers` analyses the 5 most refused callers of `by_caller` (bot/domain/refused_callers.py),
most first; `role` is the IAM role or user behind the caller (null when the ARN does not read as
one), `role_path_known` false when it comes from an assumed-role session ARN (which leaves the
role's path out) and `iam:GetRole` did not tell it; `users` its 20 most refused database users;
`resource_arns` the exact `rds-db:connect` resources of the 5 most (none for a name holding
wildcards or other characters a policy cannot name literally); `simulation.decision` is IAM's policy simulator's "allowed",
"implicitDeny" or "explicitDeny", null when not checked (`outcome` says why: no
`iam:SimulatePrincipalPolicy` permission, a caller in another account, …); `statement` the
statement to add (null when IAM allows it, denies it explicitly, or none can be built):

    "callers": [
      {"caller": "arn:aws:sts::111122223333:assumed-role/etl/i-0abc", "count": 3,
       "role": "arn:aws:iam::111122223333:role/etl", "role_path_known": true,
       "account": "111122223333", "cross_account": false, "users": {"etl": 3},
       "resource_arns": ["arn:aws:rds-db:us-east-1:111122223333:dbuser:cluster-ABC/etl"],
       "simulation": {"decision": "implicitDeny", "outcome": "implicit deny: …",
         "matched_policies": [], "permissions_boundary_allows": null,
         "organizations_allow": null, "missing_context": []},
       "statement": "{\"Sid\": …, \"Effect\": \"Allow\", \"Action\": \"rds-db:connect\", …}"}
    ]

`fixes` says what to fix, one entry per error code seen, most failures first (ties by code), as
the Slack answer's fix lines (bot/domain/fixes.py): `[{"code": "ExpiredToken", "count": 103,
"fix": "103 ExpiredToken: the token is older than 15 minutes: … Tokens are being reused at
10.0.2.8 ×98: …"}, {"code": "InvalidToken", "count": 4, "fix": "…"}]`. With `--clients`, the
ExpiredToken fix names the clients whose matched failures are all ExpiredToken.

`iamauth failures --clients --json` adds a `clients` key (absent without `--clients`). For MySQL
and MariaDB engines the engine log is `error` and the `pam_*` keys count its `Access denied for
user` lines (their `databases` are empty: that log names none):

    "clients": {
      "log_group": "/aws/rds/cluster/prod-db/postgresql",
      "engine_log": "postgresql",
      "missing": null,          # or why there is no answer: "postgresql-export-off",
                                # "postgresql-group-missing", "postgresql-access-denied",
                                # "iam-log-off"
      "tolerance_seconds": 2,
      "failures": 125,          # iam-db-auth-error failures read (as in "total")
      "matched": 120,           # of those, matched to a PAM line of the same user within ±2 s
      "unmatched": 5,
      "pam_failures": 123,      # `PAM authentication failed` lines in the window
      "pam_unmatched": 3,       # of those, matched to no failure
      "pam_unreadable": 0,      # lines naming a PAM failure whose prefix could not be read
                                # (or longer than 1,000 characters: not parsed at all)
      "truncated": false,       # the postgresql read hit the event cap (newest lines kept)
      "log_format": {           # as read from the parameter groups, or RDS's default and why
        "log_line_prefix": "%t:%r:%u@%d:[%p]:", "log_destination": "stderr",
        "log_timezone": null, "source": "…"},
      "by_user_code": [         # most matched first
        {"user": "checkout_svc", "code": "ExpiredToken", "matched": 120,
         "clients": {"10.0.1.67": 90, "10.0.2.8": 30},   # top 5 addresses, most first
         "workloads": {          # what those addresses are, where looked up (IPv4 only)
           "10.0.1.67": {"kind": "ec2-instance", "id": "i-0abc", "name": "checkout-api",
             "group": "checkout-asg", "cluster": null, "interface": "eni-0123",
             "description": null, "text": "EC2 i-0abc (checkout-api, ASG checkout-asg)"},
           "10.0.2.8": {"kind": "outside-vpcs", "id": null, …}},
         "more_clients": 0, "databases": ["orders"]}
      ],
      "workload_lookup": {"denied": null, "error": null}
    }

`workloads` (bot/domain/workloads.py) comes from `ec2:DescribeNetworkInterfaces` and
`ec2:DescribeInstances` (optional permissions): `kind` is one of "ec2-instance", "eks-node",
"eks-pod", "ecs-task", "lambda-function", "nat-gateway", "vpc-endpoint", "load-balancer",
"rds-proxy", "rds", "network-interface", "outside-vpcs" (no interface of the account has the
address: a peered VPC, on-premises, another account). Host names, `[local]`, IPv6 addresses and
addresses past the 50 most frequent are not looked up. `workload_lookup.denied` names the action
the bot may not call (then the addresses are absent from `workloads`, or instances lack their
tags), `error` a lookup that failed otherwise.

With `missing` set, the counts are 0 and `by_user_code` is empty.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.domain.correlate import TOLERANCE_MS
from bot.domain.fixes import describe as describe_fix
from bot.domain.fixes import fixes_of_summary
from bot.domain.metrics import FAMILY_METRICS, MetricsReport
from bot.domain.records import Family
from bot.domain.summary import FailureSummary
from bot.domain.window import Window
from bot.domain.workloads import Workload, describe, names_of
from bot.services.refused_callers import RefusedCallers
from bot.services.who_failed_from_where import ClientsAnswer
from bot.views.refused_callers import refused_json


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def failures_json(
    cluster: str,
    window: Window,
    summary: FailureSummary,
    clients: ClientsAnswer | None = None,
    metrics: MetricsReport | None = None,
    path: str = "filter",
    *,
    kind: str = "cluster",
    log_group: str | None = None,
    refused: RefusedCallers | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "cluster": cluster,
        "kind": kind,  # "cluster" (Aurora) or "instance" (RDS DB instance)
        "log_group": log_group,
        "start": iso(window.start),
        "end": iso(window.end),
        "total": summary.total,
        "by_code": dict(summary.top_codes()),
        "by_family": {
            f.value: n for f, n in sorted(summary.by_family.items(), key=lambda kv: -kv[1])
        },
        "by_user": dict(summary.top_users(len(summary.by_user.counts))),
        "by_caller": dict(summary.callers.top(len(summary.callers.counts))),
        "callers": refused_json(refused),  # the most refused callers, analysed
        "unparsed": summary.unparsed,
        "truncated": summary.truncated,
        "covered_from": iso(summary.covered_from) if summary.truncated else None,
        "first_seen": iso(summary.first_seen),
        "last_seen": iso(summary.last_seen),
        # "filter": FilterLogEvents read the window; "insights": Logs Insights counted it exactly.
        "path": path,
        "fixes": [
            {"code": fix.code, "count": fix.count, "fix": describe_fix(fix)}
            for fix in fixes_of_summary(
                summary,
                clients=clients.correlation.groups
                if clients is not None and clients.correlation is not None
                else None,
                names=names_of(clients.workloads) if clients is not None else None,
                statements=_statements(refused),
            )
        ],
    }
    if metrics is not None:
        data["metrics"] = metric_totals_json(metrics)
    if clients is not None:
        data["clients"] = clients_json(clients)
    return data


def _statements(refused: RefusedCallers | None) -> dict[str, tuple[str, str]]:
    """Per refused caller, its principal and the statement to add (as the Slack answer)."""
    return refused.statements_to_add() if refused is not None else {}


def metric_totals_json(report: MetricsReport) -> dict[str, Any]:
    """The CloudWatch totals of the window, as the Slack answer shows them below the log's counts:
    they count every failure, even when the log read was truncated."""
    return {
        "requests": report.total("IamDbAuthConnectionRequests"),
        "failures": report.total("IamDbAuthConnectionFailure"),
        "by_family": {
            f.value: report.total(FAMILY_METRICS[f]) for f in Family if f in FAMILY_METRICS
        },
    }


def clients_json(answer: ClientsAnswer) -> dict[str, Any]:
    found = answer.correlation
    return {
        "log_group": answer.group,
        "engine_log": answer.export,  # "postgresql", or "error" for MySQL and MariaDB
        "missing": answer.missing.value if answer.missing else None,
        "tolerance_seconds": TOLERANCE_MS // 1000,
        "failures": found.iam_total if found else 0,
        "matched": found.matched if found else 0,
        "unmatched": found.unmatched_iam if found else 0,
        "pam_failures": found.pam_total if found else 0,
        "pam_unmatched": found.unmatched_pam if found else 0,
        "pam_unreadable": answer.unreadable,
        "truncated": answer.truncated,
        # How the postgresql log was read (null for MySQL/MariaDB, or when it was not read).
        "log_format": (
            {
                "log_line_prefix": answer.log_format.prefix,
                "log_destination": answer.log_format.destination,
                "log_timezone": answer.log_format.zone,
                "source": answer.log_format_source,
            }
            if answer.log_format is not None
            else None
        ),
        "by_user_code": [
            {
                "user": g.user,
                "code": g.code,
                "matched": g.matched,
                "clients": dict(g.clients),
                "workloads": {
                    a: workload_json(answer.workloads[a])
                    for a, _ in g.clients
                    if a in answer.workloads
                },
                "more_clients": g.more_clients,
                "databases": g.databases,
            }
            for g in (found.groups if found else [])
        ],
        "workload_lookup": {
            "denied": answer.workloads_denied or None,
            "error": answer.workloads_error or None,
        },
    }


def workload_json(workload: Workload) -> dict[str, Any]:
    return {
        "kind": workload.kind.value,
        "id": workload.id or None,
        "name": workload.name or None,
        "group": workload.group or None,
        "cluster": workload.cluster or None,
        "interface": workload.interface or None,
        "description": workload.description or None,
        "text": describe(workload),
    }


def metrics_json(report: MetricsReport) -> dict[str, Any]:
    return {
        "cluster": report.cluster,
        "start": iso(report.start),
        "end": iso(report.end),
        "period": report.period,
        "dimension": report.dimension,
        "metrics": {
            name: {
                "sum": report.total(name),
                "timestamps": [iso(t) for t in series.timestamps],
                "values": list(series.values),
            }
            for name, series in report.series.items()
        },
    }
