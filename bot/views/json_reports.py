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
         "more_clients": 0, "databases": ["orders"]}
      ]
    }

With `missing` set, the counts are 0 and `by_user_code` is empty.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.domain.correlate import TOLERANCE_MS
from bot.domain.metrics import FAMILY_METRICS, MetricsReport
from bot.domain.records import Family
from bot.domain.summary import FailureSummary
from bot.domain.window import Window
from bot.services.who_failed_from_where import ClientsAnswer


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
        "unparsed": summary.unparsed,
        "truncated": summary.truncated,
        "covered_from": iso(summary.covered_from) if summary.truncated else None,
        "first_seen": iso(summary.first_seen),
        "last_seen": iso(summary.last_seen),
        # "filter": FilterLogEvents read the window; "insights": Logs Insights counted it exactly.
        "path": path,
    }
    if metrics is not None:
        data["metrics"] = metric_totals_json(metrics)
    if clients is not None:
        data["clients"] = clients_json(clients)
    return data


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
                "more_clients": g.more_clients,
                "databases": g.databases,
            }
            for g in (found.groups if found else [])
        ],
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
