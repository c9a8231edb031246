"""SQLite files an older iamauth left half-migrated, put back to the revision they record.

Before migrations ran in one transaction (bot/adapters/store/db.py), pysqlite committed each DDL
statement of an upgrade's first step as it ran, until the step's first row write opened a
transaction. A process stopped there left that step's new tables, indexes, columns or batch copies
(`_alembic_tmp_*`) behind while `alembic_version` still named the revision before (or none), and
every later start failed (`table watches already exists`). Such leftovers are additions only, and
empty: the step's row writes were rolled back, and no start succeeded since. Dropping them gives
back the recorded revision; the upgrade then runs again in the same transaction.
"""

from __future__ import annotations

import functools
import logging
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.operations import Operations
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, inspect, literal, select, table

BATCH_COPY_PREFIX = "_alembic_tmp_"
VERSION_TABLE = "alembic_version"
log = logging.getLogger(__name__)


class UnusableDatabase(Exception):
    """The database file cannot be used as it is; the message names it and says what to do."""


@dataclass(frozen=True)
class Schema:
    columns: frozenset[tuple[str, str, str]]  # (table, column, type)
    indexes: frozenset[tuple[str, str]]  # (table, index)

    @property
    def tables(self) -> frozenset[str]:
        return frozenset(name for name, _, _ in self.columns)


def read_schema(connection: Connection, only: Collection[str] | None = None) -> Schema:
    inspector = inspect(connection)
    tables = [
        t for t in inspector.get_table_names() if t != VERSION_TABLE and (only is None or t in only)
    ]
    return Schema(
        frozenset((t, c["name"], str(c["type"])) for t in tables for c in inspector.get_columns(t)),
        frozenset((t, i["name"]) for t in tables for i in inspector.get_indexes(t) if i["name"]),
    )


@functools.cache
def schemas_by_revision(script_location: str) -> dict[str | None, Schema]:
    """The schema after each revision, oldest first (None: before the first), from running the
    migrations on an empty in-memory database."""
    config = Config()
    config.set_main_option("script_location", script_location)
    revisions = [s.revision for s in ScriptDirectory.from_config(config).walk_revisions()]
    out: dict[str | None, Schema] = {None: Schema(frozenset(), frozenset())}
    engine = create_engine("sqlite://")
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        for revision in reversed(revisions):
            command.upgrade(config, revision)
            out[revision] = read_schema(connection)
    engine.dispose()
    return out


def undo_cut_off_step(connection: Connection, config: Config, database: str) -> None:
    """Drop what a cut-off upgrade step left in `database` (nothing, on a sound file), in the
    caller's transaction; UnusableDatabase when the file differs otherwise."""
    recorded = _context(connection).get_current_revision()
    present = set(inspect(connection).get_table_names()) - {VERSION_TABLE}
    copies = {t for t in present if t.startswith(BATCH_COPY_PREFIX)}
    head = ScriptDirectory.from_config(config).get_current_head()
    if not copies and (recorded == head or not present):
        return  # the usual start, and a new file
    snapshots = schemas_by_revision(str(config.get_main_option("script_location")))
    if recorded not in snapshots:
        raise UnusableDatabase(
            f"{database} has schema revision {recorded}, newer than this iamauth knows ({head}). "
            "Run the version of iamauth that wrote it, or restore a backup from before it ran."
        )
    revisions = list(snapshots)
    expected = snapshots[recorded]
    later = [snapshots[r] for r in revisions[revisions.index(recorded) + 1 :]]
    dropped = _drop_leftovers(connection, database, read_schema(connection), expected, later)
    if not dropped:
        return  # a sound file, one revision or more behind
    log.warning("%s was left half-migrated; dropped %s", database, ", ".join(dropped))
    # Anything else someone added is theirs and stays; what the revision needs must be there.
    repaired = read_schema(connection, only=expected.tables)
    missing = sorted(
        {f"{t}.{c} {kind}" for t, c, kind in expected.columns - repaired.columns}
        | {f"index {i}" for _, i in expected.indexes - repaired.indexes}
    )
    if missing:
        raise _half_migrated(database, "missing or changed: " + ", ".join(missing))


def _drop_leftovers(
    connection: Connection, database: str, actual: Schema, expected: Schema, later: list[Schema]
) -> list[str]:
    """Drop the tables, indexes and columns that only a later revision creates; what it dropped."""
    dropped: list[str] = []
    operations = Operations(_context(connection))
    later_tables = {t for s in later for t in s.tables}
    for name in sorted(actual.tables - expected.tables):
        if name in later_tables or name.startswith(BATCH_COPY_PREFIX):
            if connection.execute(select(literal(1)).select_from(table(name)).limit(1)).first():
                raise _half_migrated(database, f"table {name} is not empty")
            operations.drop_table(name)
            dropped.append(f"table {name}")
    later_indexes = {i for s in later for i in s.indexes}
    for name, index in sorted(actual.indexes - expected.indexes):
        if name in expected.tables and (name, index) in later_indexes:
            operations.drop_index(index, table_name=name)
            dropped.append(f"index {index}")
    later_columns = {(t, c) for s in later for t, c, _ in s.columns}
    added = later_columns - {(t, c) for t, c, _ in expected.columns}
    by_table: dict[str, list[str]] = defaultdict(list)
    for name, column, _ in sorted(actual.columns):
        if name in expected.tables and (name, column) in added:
            by_table[name].append(column)
    for name, columns in by_table.items():
        with operations.batch_alter_table(name) as batch:
            for column in columns:
                batch.drop_column(column)
                dropped.append(f"column {name}.{column}")
    return dropped


def _context(connection: Connection) -> MigrationContext:
    return MigrationContext.configure(connection, opts={"transactional_ddl": True})  # see db.py


def _half_migrated(database: str, detail: str) -> UnusableDatabase:
    return UnusableDatabase(
        f"{database} does not match its recorded schema revision and cannot be repaired "
        f"automatically ({detail}). Stop every iamauth process using it, then restore a backup "
        "of it, or move it aside to start with an empty one (watches added from Slack, silences "
        "and the audit log in it would not carry over)."
    )
