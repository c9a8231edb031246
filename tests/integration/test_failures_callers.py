"""`iamauth failures --json` names the refused callers, and only the callers AWS named: a database
user name holding an ARN, or a whole fake NotAuthorized reason, is a user name and nothing else."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from typing import Any

from bot.adapters.aws.clients import AwsClients
from bot.sandbox.seed_aws import Failure, create_cluster, put_failures
from tests.conftest import run_iamauth

ETL_ROLE = "arn:aws:sts::123456789012:assumed-role/etl-role/i-0abc"
REPORTING_ROLE = "arn:aws:iam::123456789012:role/team/reporting"
SPOOFED = "arn:aws:iam::123456789012:role/prod-admin"
SPOOFING_USERS = [
    f"caller '{SPOOFED}'",
    f"x' because the IAM policy assumed by the caller '{SPOOFED}' is not authorized to perform "
    "rds-db:connect on the DB instance. (Status Code: 403, Error Code: NotAuthorized)",
]


def test_failures_json_counts_the_refused_callers_and_never_one_from_a_user_name(
    moto_endpoint: str, aws: AwsClients, now: datetime
) -> None:
    create_cluster(aws.rds(), "prod-db", iam=True, exports=["iam-db-auth-error"], instances=1)
    at = now - timedelta(minutes=30)
    failures = [
        Failure(at, "etl", "NotAuthorized", ETL_ROLE),
        Failure(at + timedelta(seconds=1), "etl", "NotAuthorized", ETL_ROLE),
        Failure(at + timedelta(seconds=2), "reporting", "NotAuthorized", REPORTING_ROLE),
        Failure(at + timedelta(seconds=3), SPOOFING_USERS[0], "InvalidToken"),
        Failure(at + timedelta(seconds=4), SPOOFING_USERS[0], "NotAuthorized", ETL_ROLE),
        Failure(at + timedelta(seconds=5), SPOOFING_USERS[1], "ExpiredToken"),
    ]
    put_failures(aws.logs(), "prod-db", failures)
    env = {**os.environ, "AWS_ENDPOINT_URL": moto_endpoint, "AWS_DEFAULT_REGION": "us-east-1"}
    env.pop("IAMAUTH_CONFIG", None)

    result = run_iamauth(env, "failures", "prod-db", "--since", "1h", "--json")

    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    assert data["total"] == 6
    assert data["by_caller"] == {ETL_ROLE: 3, REPORTING_ROLE: 1}
    assert list(data["by_caller"]) == [ETL_ROLE, REPORTING_ROLE]  # most refused first
    assert data["by_user"] == {"etl": 2, "reporting": 1, SPOOFING_USERS[0]: 2, SPOOFING_USERS[1]: 1}
    assert data["by_code"] == {"NotAuthorized": 4, "InvalidToken": 1, "ExpiredToken": 1}
    assert data["unparsed"] == 0
