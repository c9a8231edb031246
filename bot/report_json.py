"""The documented JSON shapes of `iamauth failures --json` and `iamauth metrics --json`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.domain.metrics import MetricsReport
from bot.domain.summary import FailureSummary
from bot.domain.window import Window


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def failures_json(cluster: str, window: Window, summary: FailureSummary) -> dict[str, Any]:
    return {
        "cluster": cluster,
        "start": iso(window.start),
        "end": iso(window.end),
        "total": summary.total,
        "by_code": dict(summary.top_codes()),
        "by_family": {
            f.value: n for f, n in sorted(summary.by_family.items(), key=lambda kv: -kv[1])
        },
        "by_user": dict(summary.top_users(len(summary.by_user.counts))),
        "unparsed": summary.unparsed,
        "truncated": summary.truncated,
        "first_seen": iso(summary.first_seen),
        "last_seen": iso(summary.last_seen),
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
