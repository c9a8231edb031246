"""The refused callers of a failures answer, analysed: the IAM principal, its account, the exact
database-user ARNs it was refused, and what IAM's policy simulator says of them (optional
permissions; "not checked" without them).

Kept cheap: the MAX_CALLERS most refused callers only, checked in parallel within BUDGET_SECONDS
(a caller IAM has not answered for by then is said "not checked"); the adapter caches findings.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace

from bot.adapters.aws.clients import AwsClients
from bot.adapters.aws.errors import AwsError
from bot.adapters.aws.iam_simulation import role_arn, simulate_connect
from bot.domain.cluster import MYSQL_ERROR_EXPORT, ClusterInfo
from bot.domain.refused_callers import DbPlace, RefusedCaller, Simulation, read_refused
from bot.domain.summary import FailureSummary

MAX_CALLERS = 5
BUDGET_SECONDS = 4.0


@dataclass(frozen=True)
class RefusedCallers:
    callers: tuple[RefusedCaller, ...]
    more: int = 0  # refused callers beyond MAX_CALLERS, not analysed
    account_known: bool = True  # False: STS did not say the account, so no ARN could be built

    def statements_to_add(self) -> dict[str, tuple[str, str]]:
        """Per refused caller ARN, the IAM principal behind it and the paste-ready statement to
        add to its policy; none for a caller with no principal read, in another account (its
        role must be in the database's account), or that IAM's simulation allows."""
        return {
            c.arn: (c.role_arn, s)
            for c in self.callers
            if c.role_arn is not None and not c.cross_account and (s := c.statement()) is not None
        }


def analyse_refused(
    aws: AwsClients,
    info: ClusterInfo,
    summary: FailureSummary,
    *,
    limit: int = MAX_CALLERS,
    budget_seconds: float = BUDGET_SECONDS,
) -> RefusedCallers | None:
    """None when no NotAuthorized line named a caller."""
    top = summary.callers.top(limit)
    if not top:
        return None
    label = aws.place()  # `account/region`, the account asked of STS once per clients
    account, _, region = label.partition("/")
    place = DbPlace(account, aws.region or region, info.resource_id)
    read = read_refused(
        top,
        {arn: summary.users_of_caller(arn) for arn, _ in top},
        place,
        mysql=info.engine_log_export == MYSQL_ERROR_EXPORT,
    )
    more = len(summary.callers.counts) - len(top)
    pool = ThreadPoolExecutor(max_workers=len(read), thread_name_prefix="iam-simulation")
    try:
        futures = [pool.submit(_check, aws, caller, label) for caller in read]
        done, _ = wait(futures, timeout=budget_seconds)
        checked = tuple(
            _outcome(caller, future)
            if future in done
            else replace(
                caller,
                simulation=Simulation.not_checked(
                    f"IAM did not answer within {budget_seconds:g} s"
                ),
            )
            for caller, future in zip(read, futures, strict=True)
        )
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return RefusedCallers(checked, more, place.valid)


def _outcome(caller: RefusedCaller, future: Future[RefusedCaller]) -> RefusedCaller:
    """A finished check; one that failed unexpectedly is "not checked": it is optional."""
    try:
        return future.result()
    except Exception as error:
        why = f"the check failed ({type(error).__name__})"
        return replace(caller, simulation=Simulation.not_checked(why))


def _check(aws: AwsClients, caller: RefusedCaller, place: str) -> RefusedCaller:
    """GetRole for a session's role path, then the simulation (same-account callers only: a
    caller's policies live in its own account, out of the bot's sight)."""
    if caller.caller is None or caller.cross_account or not caller.resource_arns:
        return caller
    try:
        iam = aws.iam()
    except AwsError as error:  # an optional check never fails the answer
        return replace(caller, simulation=Simulation.not_checked(f"no IAM client ({error})"))
    principal = caller.role_arn
    resolved = False
    if caller.caller.path_unknown:
        found = role_arn(iam, caller.caller.name, place)
        if found is not None and found.split(":")[4] == caller.caller.account:
            principal, resolved = found, True
    assert principal is not None
    simulation = simulate_connect(iam, principal, caller.resource_arns, place)
    return replace(caller, role_arn=principal, path_resolved=resolved, simulation=simulation)
