"""A migrating process that a test can stop before any SQL statement; run as a script.

`python migration_child.py URL MODE [REVISION]`: before each statement SQLite runs on a database
file, the process prints the statement on one line and waits for a line on stdin (end of input
lets the rest run unwatched). MODE `current` runs `migrate` (bot/adapters/store/db.py); `legacy`
runs the migration of older iamauth versions (the upgrade inside `engine.begin()` on pysqlite's
legacy transaction handling) to REVISION, to make the half-migrated files they left.
"""

from __future__ import annotations

import sys
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.pool import Pool

from bot.adapters.store.db import MIGRATIONS, make_engine, migrate

watched = True


def pause(statement: str) -> None:
    global watched
    if watched:
        print(" ".join(statement.split()), flush=True)
        watched = bool(sys.stdin.readline())


def trace(dbapi_connection: Any, _record: Any) -> None:
    files = [row[2] for row in dbapi_connection.execute("PRAGMA database_list")]
    if any(files):  # not the in-memory scratch databases
        dbapi_connection.set_trace_callback(pause)


def legacy_migrate(url: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    engine = make_engine(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    engine.dispose()


if __name__ == "__main__":
    event.listen(Pool, "connect", trace)
    url, mode = sys.argv[1], sys.argv[2]
    if mode == "current":
        migrate(make_engine(url))
    else:
        legacy_migrate(url, sys.argv[3] if len(sys.argv) > 3 else "head")
