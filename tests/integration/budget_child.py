"""A process of the bot reading one log group hard; run as a script.

`python budget_child.py LOG_GROUP THREADS CALLS`: builds its AWS clients as every iamauth process
does (bot/bootstrap.py, from DATABASE_URL, AWS_ENDPOINT_URL and IAMAUTH_CONFIG), prints `ready`
and waits for a line on stdin (so that its siblings start together), then makes CALLS
FilterLogEvents calls from each of THREADS threads.
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor

from bot.bootstrap import aws_clients
from bot.config import load_settings


def main(group: str, threads: int, calls: int) -> None:
    aws, _ = aws_clients(load_settings())
    aws.place()  # the account, asked of STS before the clock starts
    logs = aws.logs()
    print("ready", flush=True)
    sys.stdin.readline()

    def read(_: int) -> None:
        for _ in range(calls):
            logs.filter_log_events(logGroupName=group, limit=1)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(read, range(threads)))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
