"""`failures … clients`: the iam log matched to the postgresql log, over moto's server, through the
real Bolt app and the real `iamauth` process. Expected matches are computed from the lines written."""

from __future__ import annotations

import json
import os
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.adapters.aws.clients import AwsClients
from bot.domain.pam import PAM_PHRASE
from bot.sandbox.seed_aws import Failure, create_cluster, put_failures, put_metrics
from bot.sandbox.seed_postgresql_log import Client, engine_time, pam_lines, put_postgresql_lines
from bot.sandbox.seed_workloads import SeededWorkloads, seed_workloads
from tests.conftest import BotUnderTest, run_iamauth
from tests.integration.test_slash_commands import all_text
from tests.integration.test_watch_commands import reply_text

HOSTILE = "<!channel> *x*"
# What three of the table's client addresses are; the others are outside the emulator's VPCs.
WORKLOADS = SeededWorkloads(
    instances={"10.0.1.67": ("checkout-api", "checkout-asg")},
    ecs_tasks={"10.0.2.8": ("prod", "checkout")},
    functions={"10.0.5.33": "reports-export"},
)
TOLERANCE = timedelta(seconds=2)


@dataclass(frozen=True)
class Row:
    """One failed login: its iam line, and its PAM line `pam_delay` later (None: no PAM line)."""

    failure: Failure
    pam_delay: float | None = None
    address: str = ""
    database: str = ""

    @property
    def pam_time(self) -> datetime:
        assert self.pam_delay is not None
        return engine_time(self.failure.time + timedelta(seconds=self.pam_delay))

    @property
    def pam_within_2_s(self) -> bool:
        # The PAM line has whole seconds: it happened somewhere in [stamp, stamp + 1 s).
        if self.pam_delay is None:
            return False
        stamp, moment = self.pam_time, self.failure.time
        return stamp - TOLERANCE <= moment < stamp + timedelta(seconds=1) + TOLERANCE


def rows(now: datetime) -> list[Row]:
    def at(minutes: float, ms: int) -> datetime:
        return now - timedelta(minutes=minutes) + timedelta(milliseconds=ms)

    return [
        Row(Failure(at(30, 250), "checkout_svc", "ExpiredToken"), -0.4, "10.0.1.67", "orders"),
        Row(Failure(at(29, 700), "checkout_svc", "ExpiredToken"), 0.2, "10.0.1.67", "orders"),
        Row(Failure(at(28, 100), "checkout_svc", "ExpiredToken"), -0.9, "10.0.2.8", "orders"),
        Row(Failure(at(20, 400), "reporting", "NotAuthorized"), 0.0, "10.0.5.33", "reports"),
        # The PAM line is 3 s before: too far, both stay unmatched.
        Row(Failure(at(15, 500), "app", "InvalidToken"), -3.0, "10.0.1.70", "app"),
        Row(Failure(at(14, 0), "app", "InvalidToken")),  # no PAM line at all
        Row(Failure(at(5, 300), HOSTILE, "InvalidToken"), 0.0, "2600:1f18::7", "<b>&co"),
        # Outside the 1h window: neither side is read or counted.
        Row(Failure(at(120, 0), "app", "InvalidToken"), 0.0, "10.0.1.70", "app"),
    ]


def seed(aws: AwsClients, now: datetime, cluster: str, exports: list[str]) -> list[Row]:
    create_cluster(aws.rds(), cluster, iam=True, exports=exports, instances=1)
    table = rows(now)
    failures = [r.failure for r in table]
    put_failures(aws.logs(), cluster, failures)
    put_metrics(aws.cloudwatch(), cluster, failures, 1, now - timedelta(hours=3), now)
    if "postgresql" not in exports:
        return table
    lines: list[tuple[datetime, str]] = []
    for n, row in enumerate(table):
        if row.pam_delay is not None:
            client = Client(row.address, 40000 + n, row.database, 3000 + n)
            lines.extend(
                (row.pam_time, x) for x in pam_lines(row.pam_time, row.failure.user, client)
            )
    noise_at = now - timedelta(minutes=3)
    lines += [
        (noise_at, f"{noise_at:%Y-%m-%d %H:%M:%S} UTC::@:[9]:LOG: checkpoint starting: time"),
        (noise_at, f'garbled {PAM_PHRASE} "app"'),
    ]
    put_postgresql_lines(aws.logs(), cluster, f"{cluster}-1", lines)
    return table


def expected_workload(address: str, made: dict[str, str]) -> dict[str, Any] | None:
    """The `workloads` entry of an address, from what was seeded (None: not looked up)."""
    none = dict.fromkeys(("id", "name", "group", "cluster", "interface", "description"))
    if ":" in address:  # IPv6: not looked up
        return None
    if address in WORKLOADS.instances:
        name, group = WORKLOADS.instances[address]
        return {
            **none,
            "kind": "ec2-instance",
            "id": made.get(address, "?"),
            "name": name,
            "group": group,
            "interface": "(the instance's)",
            "text": f"EC2 {made.get(address, '?')} ({name}, ASG {group})",
        }
    if address in WORKLOADS.ecs_tasks:
        cluster, service = WORKLOADS.ecs_tasks[address]
        return {
            **none,
            "kind": "ecs-task",
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"iamauth-demo/{address}")),
            "name": service,
            "cluster": cluster,
            "interface": made.get(address, "?"),
            "text": f"ECS service {service} (cluster {cluster})",
        }
    if address in WORKLOADS.functions:
        function = WORKLOADS.functions[address]
        return {
            **none,
            "kind": "lambda-function",
            "id": function,
            "interface": made.get(address, "?"),
            "text": f"Lambda {function}",
        }
    return {**none, "kind": "outside-vpcs", "text": "outside this account's VPCs"}


def expected(table: list[Row], now: datetime, made: dict[str, str] | None = None) -> dict[str, Any]:
    """The `clients` JSON the table should give for the hour before `now`; `made` holds the ids of
    the seeded workloads."""
    in_window = [r for r in table if now - timedelta(hours=1) <= r.failure.time < now]
    matched = [r for r in in_window if r.pam_within_2_s]
    clients: dict[tuple[str, str], Counter[str]] = {}
    for row in matched:
        clients.setdefault((row.failure.user, row.failure.code), Counter())[row.address] += 1
    databases = {(r.failure.user, r.failure.code): r.database for r in matched}
    pam_in_window = [r for r in in_window if r.pam_delay is not None]
    return {
        "log_group": "/aws/rds/cluster/prod-db/postgresql",
        "engine_log": "postgresql",
        "missing": None,
        "tolerance_seconds": 2,
        "failures": len(in_window),
        "matched": len(matched),
        "unmatched": len(in_window) - len(matched),
        "pam_failures": len(pam_in_window),
        "pam_unmatched": len(pam_in_window) - len(matched),
        "pam_unreadable": 1,
        "truncated": False,
        "log_format": {  # moto's cluster names a parameter group it does not hold
            "log_line_prefix": "%t:%r:%u@%d:[%p]:",
            "log_destination": "stderr",
            "log_timezone": None,
            "source": "the RDS default (its parameter groups could not be read: "
            "DBParameterGroupNotFound)",
        },
        "by_user_code": [
            {
                "user": user,
                "code": code,
                "matched": sum(counts.values()),
                "clients": dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))),
                "workloads": {
                    a: w for a in counts if (w := expected_workload(a, made or {})) is not None
                },
                "more_clients": 0,
                "databases": [databases[(user, code)]],
            }
            for (user, code), counts in sorted(
                clients.items(), key=lambda kv: (-sum(kv[1].values()), kv[0])
            )
        ],
        "workload_lookup": {"denied": None, "error": None},
    }


@pytest.fixture
def made(aws: AwsClients) -> dict[str, str]:
    """The seeded workloads' ids by address."""
    return seed_workloads(aws.ec2(), WORKLOADS, "us-east-1")


@pytest.fixture
def prod_db(aws: AwsClients, now: datetime, made: dict[str, str]) -> list[Row]:
    return seed(aws, now, "prod-db", ["iam-db-auth-error", "postgresql"])


def test_the_table_has_what_the_test_needs(prod_db: list[Row], now: datetime) -> None:
    want = expected(prod_db, now)
    # 3 s away is not matched; a failure with no PAM line is not either.
    assert (want["matched"], want["unmatched"], want["pam_unmatched"]) == (5, 2, 1)


def test_slash_command_shows_who_failed_from_where(
    bot: BotUnderTest, prod_db: list[Row], now: datetime
) -> None:
    text = reply_text(bot, "failures prod-db 1h clients")
    want = expected(prod_db, now)
    assert "*Who failed from where*" in text
    for group in want["by_user_code"]:
        user = group["user"].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        db = group["databases"][0].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        clients = ", ".join(f"{a} ×{n}" for a, n in group["clients"].items())
        assert f"`{user}` · {group['code']} — {clients} (db `{db}`)" in text
    assert (
        f"{want['matched']} of {want['failures']} failures matched a `{PAM_PHRASE}` line of the "
        f"same user within ±2 s; *{want['unmatched']} could not be matched*. "
        "PAM failures in the window that matched no `iam-db-auth-error` line: "
        f"{want['pam_unmatched']}."
    ) in text
    assert "Unreadable PAM lines (counted, not matched): 1" in text
    assert "<!channel>" not in text
    assert "<b>" not in text


def test_clients_may_come_before_the_window_and_is_not_shown_unless_asked(
    bot: BotUnderTest, prod_db: list[Row]
) -> None:
    asked = bot.command("failures prod-db clients 1h")
    assert asked.response is not None
    assert "`checkout_svc` · ExpiredToken — 10.0.1.67 ×2, 10.0.2.8 ×1" in all_text(
        asked.response.body
    )
    plain = bot.command("failures prod-db 1h")
    assert plain.response is not None
    assert "Who failed from where" not in all_text(plain.response.body)
    too_many = bot.command("failures prod-db 1h clients extra", expect_reply=False)
    assert too_many.ack is not None
    assert "[window] [clients]" in all_text(too_many.ack)


def iamauth(endpoint: str, *args: str) -> Any:
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint, "AWS_DEFAULT_REGION": "us-east-1"}
    env.pop("IAMAUTH_CONFIG", None)
    return run_iamauth(env, *args)


def test_cli_json_has_the_documented_clients_key(
    moto_endpoint: str, prod_db: list[Row], now: datetime, made: dict[str, str]
) -> None:
    result = iamauth(moto_endpoint, "failures", "prod-db", "--since", "1h", "--clients", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    # The instance's interface id is the emulator's choice: checked for its shape only.
    for group in data["clients"]["by_user_code"]:
        for workload in group["workloads"].values():
            if workload["kind"] == "ec2-instance":
                assert workload["interface"].startswith("eni-")
                workload["interface"] = "(the instance's)"
    # The process's window ends a little after `now`: the same rows are in it.
    assert data["clients"] == expected(prod_db, now, made)
    assert data["clients"]["failures"] == data["total"]
    without = iamauth(moto_endpoint, "failures", "prod-db", "--since", "1h", "--json")
    assert "clients" not in json.loads(without.stdout)


def test_cli_text_shows_the_section(moto_endpoint: str, prod_db: list[Row]) -> None:
    result = iamauth(moto_endpoint, "failures", "prod-db", "--clients")
    assert result.returncode == 0, result.stderr
    assert "Who failed from where" in result.stdout
    assert "10.0.5.33 ×1" in result.stdout


def test_postgresql_export_off_gets_a_hint_not_an_error(
    bot: BotUnderTest, aws: AwsClients, now: datetime, moto_endpoint: str
) -> None:
    seed(aws, now, "solo-db", ["iam-db-auth-error"])
    text = reply_text(bot, "failures solo-db 1h clients")
    assert "*Who failed from where*: the `postgresql` log export is *off* for `solo-db`" in text
    assert "7 failed IAM authentications" in text  # the rest of the answer is all there
    result = iamauth(moto_endpoint, "failures", "solo-db", "--clients", "--json")
    assert result.returncode == 0, result.stderr
    clients = json.loads(result.stdout)["clients"]
    assert clients["missing"] == "postgresql-export-off"
    assert clients["by_user_code"] == []


def test_postgresql_group_missing_says_so(
    bot: BotUnderTest, aws: AwsClients, now: datetime
) -> None:
    create_cluster(aws.rds(), "new-db", iam=True, exports=["iam-db-auth-error", "postgresql"])
    put_failures(aws.logs(), "new-db", [Failure(now - timedelta(minutes=5), "app", "InvalidToken")])
    reply = bot.command("failures new-db 1h clients")
    assert reply.response is not None
    assert "the log group `/aws/rds/cluster/new-db/postgresql` does not exist yet" in all_text(
        reply.response.body
    )


def test_a_policy_without_the_postgresql_groups_still_answers_the_rest(
    bot: BotUnderTest, aws: AwsClients, prod_db: list[Row]
) -> None:
    # moto does not enforce IAM: the real client refuses the postgresql group the way AWS would.
    def deny_postgresql(params: dict[str, Any], **_: Any) -> None:
        from botocore.exceptions import ClientError

        if params.get("logGroupName", "").endswith("/postgresql"):
            raise ClientError(
                {"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "FilterLogEvents"
            )

    aws.logs().meta.events.register("before-parameter-build.logs.FilterLogEvents", deny_postgresql)
    text = reply_text(bot, "failures prod-db 1h clients")
    assert "7 failed IAM authentications" in text
    assert (
        "the bot may not call `logs:FilterLogEvents` on `/aws/rds/cluster/prod-db/postgresql`"
        in text
    )


def test_a_postgresql_log_over_the_cap_is_read_newest_first_and_says_so(
    aws: AwsClients, now: datetime
) -> None:
    from bot.services.queries import QueryService
    from bot.views.failures import failures_message

    create_cluster(aws.rds(), "busy-db", iam=True, exports=["iam-db-auth-error", "postgresql"])
    recent = [Failure(now - timedelta(minutes=m), "app", "InvalidToken") for m in (3, 2, 1)]
    put_failures(aws.logs(), "busy-db", recent)
    # 6 older PAM failures of another user, then one line per recent failure: 9 > the cap of 5.
    older = [(now - timedelta(minutes=40, seconds=s), "etl") for s in range(6)]
    lines = [
        (t, x)
        for n, (t, user) in enumerate(older + [(f.time, f.user) for f in recent])
        for x in pam_lines(t, user, Client("10.0.0.9", 40000 + n, "app", 500 + n))
    ]
    put_postgresql_lines(aws.logs(), "busy-db", "busy-db-1", lines)
    service = QueryService(aws, event_cap=5, clock=lambda: now)
    answer = service.failures("busy-db", timedelta(hours=1), clients=True).clients
    assert answer is not None
    assert answer.correlation is not None
    assert answer.truncated
    assert answer.correlation.pam_total == 5  # the cap
    # The newest lines were kept: every recent failure still found its line.
    assert (answer.correlation.matched, answer.correlation.unmatched_iam) == (3, 0)
    report = service.failures("busy-db", timedelta(hours=1), clients=True)
    assert "only the newest from" in all_text(failures_message(report).to_dict())


def test_the_demo_seed_writes_a_postgresql_log_that_matches_its_failures(
    aws: AwsClients, now: datetime
) -> None:
    import random

    from bot.sandbox.seed_aws import demo_failures
    from bot.sandbox.seed_postgresql_log import (
        OTHER_CLIENTS,
        SERVICE_CLIENTS,
        put_postgresql_failures,
    )
    from bot.services.queries import QueryService

    create_cluster(aws.rds(), "demo-db", iam=True, exports=["iam-db-auth-error", "postgresql"])
    failures = demo_failures(now, random.Random(5))
    put_failures(aws.logs(), "demo-db", failures)
    put_postgresql_failures(aws.logs(), "demo-db", failures, random.Random(6))
    report = QueryService(aws, clock=lambda: now).failures(
        "demo-db", timedelta(hours=24), clients=True
    )
    assert report.clients is not None
    found = report.clients.correlation
    assert found is not None
    assert found.iam_total == len(failures)
    assert found.unmatched_iam > 0  # some failures have no PAM line
    assert found.matched > 0.9 * len(failures)
    assert report.clients.unreadable == 0  # the noise lines are filtered out, not unreadable
    for group in found.groups:
        addresses, database = SERVICE_CLIENTS.get(group.user, OTHER_CLIENTS)
        assert {a for a, _ in group.clients} <= set(addresses), group
        assert group.databases == [database]
