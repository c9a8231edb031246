"""The `postgresql` log that goes with seeded `iam-db-auth-error` failures (demo and tests).

For each failed IAM login the engine writes three lines (LOG pam_authenticate, FATAL PAM
authentication failed, DETAIL pg_hba) with the prefix `%t:%r:%u@%d:[%p]:`, stamped in whole
seconds, a fraction of a second before or after the iam line. Each service connects from its own
few addresses to its own database, so "who failed from where" has a real answer to find.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot.domain.cluster import postgresql_log_group
from bot.sandbox.seed_aws import Failure, put_lines

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient

HBA_DETAIL = 'Connection matched file "/rdsdbdata/config/pg_hba.conf" line 13: "hostssl all +rds_iam all pam"'


@dataclass(frozen=True)
class Client:
    """Where one connection attempt came from."""

    address: str
    port: int
    database: str
    pid: int


def pam_lines(moment: datetime, user: str, client: Client) -> list[str]:
    """The three lines the engine writes for one failed IAM login, as RDS formats them."""
    prefix = (
        f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC:{client.address}({client.port}):"
        f"{user}@{client.database}:[{client.pid}]:"
    )
    return [
        f"{prefix}LOG: pam_authenticate failed: Permission denied",
        f'{prefix}FATAL: PAM authentication failed for user "{user}"',
        f"{prefix}DETAIL: {HBA_DETAIL}",
    ]


def engine_time(moment: datetime) -> datetime:
    """The whole second the engine stamps a line with."""
    return moment.replace(microsecond=0)


def put_postgresql_lines(
    logs: CloudWatchLogsClient, cluster: str, stream: str, lines: Sequence[tuple[datetime, str]]
) -> None:
    put_lines(logs, postgresql_log_group(cluster), stream, lines)


# Per service: the addresses its pods connect from, and its database.
SERVICE_CLIENTS: dict[str, tuple[tuple[str, ...], str]] = {
    "app_user": (("10.0.1.67", "10.0.1.68", "10.0.2.14"), "app"),
    "billing": (("10.0.3.21",), "billing"),
    "etl_loader": (("10.0.4.5", "10.0.4.6"), "warehouse"),
    "checkout_svc": (("10.0.1.90", "10.0.2.8", "10.0.2.9"), "orders"),
    "reporting": (("10.0.5.33",), "reports"),
}
OTHER_CLIENTS = (("10.0.9.200", "2600:1f18:1234:5600::17"), "postgres")
NOISE = (
    "LOG: connection received: host={address} port={port}",
    "LOG: checkpoint starting: time",
    'LOG: automatic vacuum of table "app.public.sessions": index scans: 1',
    "LOG: disconnection: session time: 0:00:03.120 user=app_user database=app host={address}",
)


def put_postgresql_failures(
    logs: CloudWatchLogsClient,
    cluster: str,
    failures: Sequence[Failure],
    rng: random.Random,
    *,
    streams: int = 2,
    without_pam_line: float = 0.04,
    noise_per_failure: float = 0.5,
) -> None:
    """PAM lines for the failures (a few get none, as when the engine log lags or rotates), with
    unrelated engine lines in between, spread over per-instance streams like put_failures."""
    pid = 20_000
    for n in range(streams):
        lines: list[tuple[datetime, str]] = []
        for failure in failures[n::streams]:
            if rng.random() < without_pam_line:
                continue
            addresses, database = SERVICE_CLIENTS.get(failure.user, OTHER_CLIENTS)
            pid += rng.randint(1, 40)
            client = Client(rng.choice(addresses), rng.randint(32768, 60999), database, pid)
            stamped = engine_time(failure.time + timedelta(seconds=rng.uniform(-0.8, 0.3)))
            lines.extend((stamped, line) for line in pam_lines(stamped, failure.user, client))
            if rng.random() < noise_per_failure:
                noise = rng.choice(NOISE).format(address=client.address, port=client.port)
                lines.append((stamped, f"{stamped:%Y-%m-%d %H:%M:%S} UTC::@:[{pid - 7}]:{noise}"))
        put_postgresql_lines(logs, cluster, f"{cluster}-{n + 1}", lines)
