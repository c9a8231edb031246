"""`failures … clients` on MySQL and MariaDB engines: the iam log matched to the engine's `error`
log (hosts only), over moto's server, through the real Bolt app and the real `iamauth` process.
Aurora MySQL as a cluster, MariaDB as a standalone DB instance; the setting that logs refused
logins (`log_error_verbosity`, `log_warnings`) is read from moto's parameter groups."""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.adapters.aws.clients import AwsClients
from bot.domain.cluster import iam_log_group
from bot.domain.workloads import looked_up
from bot.sandbox.seed_aws import Failure, format_line, put_failures, put_lines
from bot.sandbox.seed_mysql_error_log import (
    Flavour,
    denied_line,
    engine_moment,
    noise_lines,
    put_error_lines,
)
from tests.conftest import BotUnderTest, run_iamauth
from tests.integration.test_slash_commands import all_text
from tests.integration.test_watch_commands import reply_text

HOSTILE = "<!channel> it's@me"
TOLERANCE = timedelta(seconds=2)


@dataclass(frozen=True)
class Row:
    """One failed login: its iam line and its `Access denied` line `delay` s later (None: none)."""

    failure: Failure
    delay: float | None = None
    host: str = ""

    def stamped(self, flavour: Flavour) -> datetime:
        assert self.delay is not None
        return engine_moment(self.failure.time + timedelta(seconds=self.delay), flavour)

    def within_2_s(self, flavour: Flavour) -> bool:
        if self.delay is None:
            return False
        stamp, moment = self.stamped(flavour), self.failure.time
        second = timedelta(seconds=1) if flavour == "mariadb" else timedelta(milliseconds=1)
        return stamp - TOLERANCE <= moment < stamp + second + TOLERANCE


def rows(now: datetime) -> list[Row]:
    def at(minutes: float, ms: int) -> datetime:
        return now - timedelta(minutes=minutes) + timedelta(milliseconds=ms)

    return [
        Row(Failure(at(30, 250), "checkout_svc", "ExpiredToken"), 0.004, "10.0.1.67"),
        Row(Failure(at(29, 700), "checkout_svc", "ExpiredToken"), -0.3, "10.0.1.67"),
        Row(Failure(at(28, 100), "checkout_svc", "ExpiredToken"), 0.01, "ip-10-0-2-8.ec2.internal"),
        Row(Failure(at(20, 400), "reporting", "NotAuthorized"), 0.0, "10.0.5.33"),
        Row(Failure(at(15, 500), "app", "InvalidToken"), -3.5, "10.0.1.70"),  # too far
        Row(Failure(at(14, 0), "app", "InvalidToken")),  # no engine line at all
        Row(Failure(at(5, 300), HOSTILE, "InvalidToken"), 0.002, "2600:1f18::7"),
        Row(Failure(at(120, 0), "app", "InvalidToken"), 0.0, "10.0.1.70"),  # outside 1h
    ]


def error_lines(table: list[Row], flavour: Flavour, now: datetime) -> list[tuple[datetime, str]]:
    lines = [
        (
            row.stamped(flavour),
            denied_line(row.stamped(flavour), row.failure.user, row.host, flavour),
        )
        for row in table
        if row.delay is not None
    ]
    noise_at = now - timedelta(minutes=3)
    lines += [(noise_at, line) for line in noise_lines(noise_at, flavour)]
    lines.append((noise_at, "garbled Access denied for user 'app'"))
    return lines


OUTSIDE_JSON = {
    **dict.fromkeys(("id", "name", "group", "cluster", "interface", "description")),
    "kind": "outside-vpcs",
    "text": "outside this account's VPCs",
}


def expected(table: list[Row], now: datetime, flavour: Flavour, group: str) -> dict[str, Any]:
    """The `clients` JSON the table should give for the hour before `now`."""
    in_window = [r for r in table if now - timedelta(hours=1) <= r.failure.time < now]
    matched = [r for r in in_window if r.within_2_s(flavour)]
    clients: dict[tuple[str, str], Counter[str]] = {}
    for row in matched:
        clients.setdefault((row.failure.user, row.failure.code), Counter())[row.host] += 1
    lines_in_window = [r for r in in_window if r.delay is not None]
    return {
        "log_group": group,
        "engine_log": "error",
        "missing": None,
        "tolerance_seconds": 2,
        "failures": len(in_window),
        "matched": len(matched),
        "unmatched": len(in_window) - len(matched),
        "pam_failures": len(lines_in_window),
        "pam_unmatched": len(lines_in_window) - len(matched),
        "pam_unreadable": 1,
        "truncated": False,
        "log_format": None,  # a postgresql log's only
        "by_user_code": [
            {
                "user": user,
                "code": code,
                "matched": sum(counts.values()),
                "clients": dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))),
                # No VPC holds them in the emulator; host names are not looked up.
                "workloads": {a: OUTSIDE_JSON for a in counts if looked_up(a)},
                "more_clients": 0,
                "databases": [],
            }
            for (user, code), counts in sorted(
                clients.items(), key=lambda kv: (-sum(kv[1].values()), kv[0])
            )
        ],
        "workload_lookup": {"denied": None, "error": None},
    }


def verbose_group(aws: AwsClients, name: str, family: str, parameter: str, value: str) -> None:
    aws.rds().create_db_parameter_group(
        DBParameterGroupName=name, DBParameterGroupFamily=family, Description="iamauth test"
    )
    aws.rds().modify_db_parameter_group(
        DBParameterGroupName=name,
        Parameters=[
            {"ParameterName": parameter, "ParameterValue": value, "ApplyMethod": "immediate"}
        ],
    )


def aurora_mysql(
    aws: AwsClients,
    now: datetime,
    cluster: str,
    exports: list[str],
    *,
    verbosity: str | None,
    own_cluster_group: bool = True,
) -> list[Row]:
    """An Aurora MySQL 3 cluster with one instance; its DB parameter group sets
    `log_error_verbosity` when given (the error log then holds the refused logins). moto cannot
    describe the default cluster parameter group: the cluster gets one of its own."""
    extra: dict[str, Any] = {}
    if own_cluster_group:
        aws.rds().create_db_cluster_parameter_group(
            DBClusterParameterGroupName=f"{cluster}-cpg",
            DBParameterGroupFamily="aurora-mysql8.0",
            Description="iamauth test",
        )
        extra["DBClusterParameterGroupName"] = f"{cluster}-cpg"
    aws.rds().create_db_cluster(
        **extra,
        DBClusterIdentifier=cluster,
        Engine="aurora-mysql",
        EngineVersion="8.0.mysql_aurora.3.05.2",
        MasterUsername="admin",
        MasterUserPassword="demo-password-not-secret",
        EnableIAMDatabaseAuthentication=True,
        EnableCloudwatchLogsExports=exports,
    )
    extra = {}
    if verbosity is not None:
        verbose_group(aws, f"{cluster}-pg", "aurora-mysql8.0", "log_error_verbosity", verbosity)
        extra["DBParameterGroupName"] = f"{cluster}-pg"
    aws.rds().create_db_instance(
        DBInstanceIdentifier=f"{cluster}-1",
        DBInstanceClass="db.r6g.large",
        Engine="aurora-mysql",
        DBClusterIdentifier=cluster,
        **extra,
    )
    table = rows(now)
    put_failures(aws.logs(), cluster, [r.failure for r in table])
    if "error" in exports and verbosity == "3":
        put_error_lines(aws.logs(), cluster, f"{cluster}-1", error_lines(table, "mysql8", now))
    elif "error" in exports:  # what the log holds at verbosity 2: no refused login
        at = now - timedelta(minutes=3)
        put_error_lines(aws.logs(), cluster, f"{cluster}-1", [(at, noise_lines(at, "mysql8")[0])])
    return table


@pytest.fixture
def shop(aws: AwsClients, now: datetime) -> list[Row]:
    return aurora_mysql(aws, now, "shop", ["iam-db-auth-error", "error"], verbosity="3")


def iamauth(endpoint: str, *args: str) -> Any:
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint, "AWS_DEFAULT_REGION": "us-east-1"}
    env.pop("IAMAUTH_CONFIG", None)
    return run_iamauth(env, *args)


def escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def test_the_table_has_what_the_test_needs(shop: list[Row], now: datetime) -> None:
    want = expected(shop, now, "mysql8", "/aws/rds/cluster/shop/error")
    assert (want["matched"], want["unmatched"], want["pam_unmatched"]) == (5, 2, 1)


def test_slash_command_shows_hosts_from_the_aurora_mysql_error_log(
    bot: BotUnderTest, shop: list[Row], now: datetime
) -> None:
    text = reply_text(bot, "failures shop 1h clients")
    want = expected(shop, now, "mysql8", "/aws/rds/cluster/shop/error")
    assert "*Who failed from where* (top client hosts by user and error code)" in text
    for group in want["by_user_code"]:
        clients = ", ".join(f"{escaped(a)} ×{n}" for a, n in group["clients"].items())
        # Hosts only: the error log names no database.
        assert f"`{escaped(group['user'])}` · {group['code']} — {clients}\n" in text + "\n"
    assert "`checkout_svc` · ExpiredToken — 10.0.1.67 ×2, ip-10-0-2-8.ec2.internal ×1" in text
    assert (
        f"{want['matched']} of {want['failures']} failures matched a `Access denied for user` "
        f"line of the same user within ±2 s; *{want['unmatched']} could not be matched*. "
        "Refused logins in the window that matched no `iam-db-auth-error` line: "
        f"{want['pam_unmatched']}."
    ) in text
    assert "gives the client's host only (an address or a resolved name): no port, no database" in (
        text
    )
    assert "Unreadable `Access denied` lines (counted, not matched): 1" in text
    assert "(db " not in text
    assert "<!channel>" not in text


def test_the_setting_is_read_only_when_the_log_has_no_refused_login(
    bot: BotUnderTest, aws: AwsClients, shop: list[Row], now: datetime
) -> None:
    calls: list[str] = []
    for api in ("DescribeDBParameters", "DescribeDBClusterParameters"):
        aws.rds().meta.events.register(
            f"before-call.rds.{api}", lambda model, **_: calls.append(model.name)
        )
    reply = bot.command("failures shop 1h clients")
    assert reply.response is not None
    assert "10.0.5.33 ×1" in all_text(reply.response.body)
    assert calls == []
    aurora_mysql(aws, now, "quiet", ["iam-db-auth-error", "error"], verbosity=None)
    reply = bot.command("failures quiet 1h clients")
    assert reply.response is not None
    assert sorted(set(calls)) == ["DescribeDBClusterParameters", "DescribeDBParameters"]


def test_cli_json_has_hosts_for_aurora_mysql(
    moto_endpoint: str, shop: list[Row], now: datetime
) -> None:
    result = iamauth(moto_endpoint, "failures", "shop", "--since", "1h", "--clients", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["clients"] == expected(shop, now, "mysql8", "/aws/rds/cluster/shop/error")


def test_failed_logins_not_logged_says_what_to_turn_on(
    bot: BotUnderTest, aws: AwsClients, now: datetime, moto_endpoint: str
) -> None:
    # The instance keeps the default DB parameter group: log_error_verbosity is MySQL 8.0's 2.
    aurora_mysql(aws, now, "quiet", ["iam-db-auth-error", "error"], verbosity=None)
    text = reply_text(bot, "failures quiet 1h clients")
    assert "*Who failed from where*: the error log of `quiet` has no `Access denied for user`" in (
        text
    )
    assert "set `log_error_verbosity` to 3 in the DB parameter group" in text
    assert "`log_error_verbosity` is 2 (the engine default" in text
    assert "7 failed IAM authentications" in text  # the rest of the answer is all there
    result = iamauth(moto_endpoint, "failures", "quiet", "--since", "1h", "--clients", "--json")
    assert result.returncode == 0, result.stderr
    clients = json.loads(result.stdout)["clients"]
    assert clients["missing"] == "failed-logins-not-logged"
    assert clients["log_group"] == "/aws/rds/cluster/quiet/error"


def test_verbosity_two_in_a_group_is_named_with_its_group(
    bot: BotUnderTest, aws: AwsClients, now: datetime
) -> None:
    aurora_mysql(aws, now, "terse", ["iam-db-auth-error", "error"], verbosity="2")
    text = reply_text(bot, "failures terse 1h clients")
    assert "`log_error_verbosity` is `2` (parameter group" in text
    assert "`terse-pg`" in text


def test_error_export_off_gets_the_command_to_turn_it_on(
    bot: BotUnderTest, aws: AwsClients, now: datetime
) -> None:
    aurora_mysql(aws, now, "solo", ["iam-db-auth-error"], verbosity="3")
    text = reply_text(bot, "failures solo 1h clients")
    assert "*Who failed from where*: the `error` log export is *off* for `solo`" in text
    assert "aws rds modify-db-cluster --db-cluster-identifier solo" in text
    assert '{"EnableLogTypes":["error"]}' in text


def test_an_unreadable_setting_and_no_line_says_what_to_check(
    bot: BotUnderTest, aws: AwsClients, now: datetime
) -> None:
    # moto cannot describe the default cluster parameter group, as a policy without
    # rds:DescribeDBClusterParameters could not: the value in force is unknown.
    aurora_mysql(
        aws, now, "blind", ["iam-db-auth-error", "error"], verbosity=None, own_cluster_group=False
    )
    text = reply_text(bot, "failures blind 1h clients")
    assert "`log_error_verbosity` could not be read (parameter group" in text
    assert "could not read `default.aurora8.0` (DBParameterGroupNotFound)" in text
    assert "check it and, if it is lower, set `log_error_verbosity` to 3" in text


def test_error_group_missing_or_refused_says_so(
    bot: BotUnderTest, aws: AwsClients, now: datetime
) -> None:
    aurora_mysql(aws, now, "fresh", ["iam-db-auth-error", "error"], verbosity="3")
    aws.logs().delete_log_group(logGroupName="/aws/rds/cluster/fresh/error")
    reply = bot.command("failures fresh 1h clients")
    assert reply.response is not None
    assert "the log group `/aws/rds/cluster/fresh/error` does not exist yet" in all_text(
        reply.response.body
    )

    def deny_error_log(params: dict[str, Any], **_: Any) -> None:
        from botocore.exceptions import ClientError

        if params.get("logGroupName", "").endswith("/error"):
            raise ClientError(
                {"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "FilterLogEvents"
            )

    aurora_mysql(aws, now, "locked", ["iam-db-auth-error", "error"], verbosity="3")
    aws.logs().meta.events.register("before-parameter-build.logs.FilterLogEvents", deny_error_log)
    text = reply_text(bot, "failures locked 1h clients")
    assert "7 failed IAM authentications" in text
    assert "may not call `logs:FilterLogEvents` on `/aws/rds/cluster/locked/error`" in text
    assert "Add the `error` log groups to its IAM policy" in text


def mariadb_instance(
    aws: AwsClients,
    now: datetime,
    name: str,
    exports: tuple[str, ...] = ("iam-db-auth-error", "error"),
    log_warnings: str | None = None,
) -> list[Row]:
    """A standalone RDS for MariaDB instance, at its default `log_warnings` (2: refused logins
    are logged) unless a DB parameter group sets another."""
    extra: dict[str, Any] = {}
    if log_warnings is not None:
        verbose_group(aws, f"{name}-pg", "mariadb10.11", "log_warnings", log_warnings)
        extra["DBParameterGroupName"] = f"{name}-pg"
    aws.rds().create_db_instance(
        DBInstanceIdentifier=name,
        DBInstanceClass="db.t4g.medium",
        Engine="mariadb",
        EngineVersion="10.11.8",
        AllocatedStorage=50,
        MasterUsername="admin",
        MasterUserPassword="demo-password-not-secret",
        EnableIAMDatabaseAuthentication=True,
        EnableCloudwatchLogsExports=list(exports),
        **extra,
    )
    table = rows(now)
    iam = [(r.failure.time, format_line(r.failure)) for r in table]
    put_lines(aws.logs(), iam_log_group(name, "instance"), name, iam)
    if "error" in exports and log_warnings in (None, "2"):
        put_error_lines(aws.logs(), name, name, error_lines(table, "mariadb", now), "instance")
    elif "error" in exports:
        at = now - timedelta(minutes=3)
        put_error_lines(aws.logs(), name, name, [(at, noise_lines(at, "mariadb")[0])], "instance")
    return table


def test_mariadb_instance_advice_names_its_parameter_and_command(
    bot: BotUnderTest, aws: AwsClients, now: datetime
) -> None:
    mariadb_instance(aws, now, "hushed", log_warnings="1")
    text = reply_text(bot, "failures hushed 1h clients")
    assert "only when `log_warnings` is at least 2, and `log_warnings` is `1`" in text
    assert "`hushed-pg`" in text
    assert "set `log_warnings` to 2 in the DB parameter group" in text
    mariadb_instance(aws, now, "nolog", exports=("iam-db-auth-error",))
    text = reply_text(bot, "failures nolog 1h clients")
    assert "the `error` log export is *off* for `nolog`" in text
    assert "aws rds modify-db-instance --db-instance-identifier nolog" in text


def test_mariadb_instance_reads_its_instance_error_log(
    bot: BotUnderTest, aws: AwsClients, now: datetime, moto_endpoint: str
) -> None:
    table = mariadb_instance(aws, now, "maria")
    text = reply_text(bot, "failures maria 1h clients")
    assert "`checkout_svc` · ExpiredToken — 10.0.1.67 ×2, ip-10-0-2-8.ec2.internal ×1" in text
    assert "`reporting` · NotAuthorized — 10.0.5.33 ×1" in text
    result = iamauth(moto_endpoint, "failures", "maria", "--since", "1h", "--clients", "--json")
    assert result.returncode == 0, result.stderr
    clients = json.loads(result.stdout)["clients"]
    assert clients == expected(table, now, "mariadb", "/aws/rds/instance/maria/error")


def test_whole_second_mariadb_lines_match_like_postgresql_ones() -> None:
    # A MariaDB line stamped 12:00:00 happened in [00.000, 00.999]: a failure at 12:00:02.900
    # is within 2 s of 12:00:00.900.
    moment = datetime(2026, 10, 2, 12, 0, 2, 900_000, tzinfo=UTC)
    row = Row(Failure(moment, "app", "InvalidToken"), -2.9, "10.0.0.1")
    assert row.stamped("mariadb") == datetime(2026, 10, 2, 12, 0, 0, tzinfo=UTC)
    assert row.within_2_s("mariadb")
    assert not row.within_2_s("mysql8")
