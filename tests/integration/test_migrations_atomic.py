"""SQLite migrations all or nothing: processes killed (SIGKILL) before any statement of an upgrade,
files that older versions left half-migrated, a failing step, and a file that cannot be repaired."""

from __future__ import annotations

import itertools
import random
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from bot.adapters.store.db import MIGRATIONS, make_engine, migrate
from bot.adapters.store.models import Base
from bot.adapters.store.repair import Schema, UnusableDatabase, read_schema, schemas_by_revision
from bot.sandbox.slack_standin import SlackStandIn
from tests.conftest import run_iamauth
from tests.integration.migration_child import legacy_migrate
from tests.integration.test_store_and_leader import clock_env, write_config

CHILD = Path(__file__).with_name("migration_child.py")
ROW_WRITES = ("INSERT", "UPDATE", "DELETE")
SCHEMA_WRITES = ("CREATE", "DROP", "ALTER")
SNAPSHOTS = schemas_by_revision(str(MIGRATIONS))
REVISIONS = list(SNAPSHOTS)  # None (an empty file), then oldest to newest
HEAD = REVISIONS[-1]
ROWS = {
    "watches": [("prod-db", "C0ALERTS01")],
    "silences": [("prod-db", "deploy")],
}


def run_child(url: str, *args: str, kill_after_write: int) -> list[str] | None:
    """Run a migrating process and SIGKILL it just before the statement that follows its
    `kill_after_write`-th write (schema or row); the statements it began, or None when it
    finished first."""
    process = subprocess.Popen(
        [sys.executable, str(CHILD), url, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdin
    assert process.stdout
    seen: list[str] = []
    while line := process.stdout.readline():
        seen.append(line.strip())
        writes = [s for s in seen[:-1] if s.startswith(ROW_WRITES + SCHEMA_WRITES)]
        if len(writes) == kill_after_write and seen[-2] == writes[-1]:
            process.kill()
            break
        process.stdin.write("\n")
        process.stdin.flush()
    _, errors = process.communicate(timeout=60)
    if process.returncode == 0:
        return None
    assert process.returncode == -signal.SIGKILL, errors
    return seen


def file_at(path: Path, revision: str | None) -> str:
    """A database file at `revision`, holding ROWS from the first revision on."""
    url = f"sqlite:///{path}"
    if revision is None:
        path.touch()  # an empty file is an empty SQLite database
        return url
    legacy_migrate(url, revision)
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO watches (cluster, channel, thresholds, repeat_seconds, send_resolved,"
                " created_at) VALUES ('prod-db', 'C0ALERTS01', '[]', 3600, 1, '2025-08-11')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO silences (cluster, until, reason, created_at)"
                " VALUES ('prod-db', '2025-08-12', 'deploy', '2025-08-11')"
            )
        )
    engine.dispose()
    return url


def state(url: str) -> tuple[str | None, Schema, dict[str, list[tuple[str, str]]]]:
    engine = make_engine(url)
    with engine.connect() as connection:
        revision = MigrationContext.configure(connection).get_current_revision()
        schema = read_schema(connection)
        rows = {}
        if revision is not None:
            rows = {
                "watches": [tuple(r) for r in connection.execute(text("SELECT cluster, channel FROM watches"))],
                "silences": [tuple(r) for r in connection.execute(text("SELECT cluster, reason FROM silences"))],
            }  # fmt: skip
    engine.dispose()
    return revision, schema, rows


def assert_migrated(url: str, rows: dict[str, list[tuple[str, str]]]) -> None:
    """What a start needs: `migrate` succeeds and the schema is complete, no row lost."""
    engine = make_engine(url)
    migrate(engine)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    engine.dispose()
    revision, schema, after = state(url)
    assert (revision, schema) == (HEAD, SNAPSHOTS[HEAD])
    assert all(after[table] == rows[table] for table in rows)


@pytest.mark.parametrize(
    ("start", "stride"), [(None, 3), (REVISIONS[1], 4)], ids=["new file", "upgrade with rows"]
)
def test_a_migration_killed_before_any_statement_is_undone_whole(
    start: str | None, stride: int, tmp_path: Path
) -> None:
    """SIGKILL after every `stride`-th write, from a random first one (each must hold)."""
    template = tmp_path / "template.db"
    file_at(template, start)
    rows = ROWS if start else {}
    killed = []
    for n in itertools.count(random.randrange(1, stride + 1), stride):
        path = tmp_path / f"killed-{n}.db"
        shutil.copy(template, path)
        url = f"sqlite:///{path}"
        seen = run_child(url, "current", kill_after_write=n)
        if seen is None:
            break
        killed.append(seen[-1])
        revision, schema, kept = state(url)
        # Killed before COMMIT at the latest: as it was, never in between.
        assert (revision, schema) == (start, SNAPSHOTS[start]), f"killed before {seen[-1]}"
        assert kept == rows
        assert_migrated(url, rows)
    assert len(killed) >= 5, killed  # ≥ 10 trials in all


# The kinds of leftovers: tables and an index (0001), a batch copy (0003), a column (0004).
@pytest.mark.parametrize(
    ("start", "stride"), [(None, 2), ("0002", 1), ("0003", 1)], ids=["new file", "0002", "0003"]
)
def test_files_older_versions_left_half_migrated_are_repaired(
    start: str | None, stride: int, tmp_path: Path
) -> None:
    """The old migration, killed after each schema change that came before its first row write:
    what it committed stays behind. A start repairs it."""
    template = tmp_path / "template.db"
    file_at(template, start)
    rows = ROWS if start else {}
    for n in itertools.count(1, stride):
        path = tmp_path / f"half-{n}.db"
        shutil.copy(template, path)
        url = f"sqlite:///{path}"
        seen = run_child(url, "legacy", kill_after_write=n)
        if seen is None or seen[-2].startswith(ROW_WRITES):
            break  # past the first row write: the rest was one transaction
        if not seen[-2].startswith("CREATE TABLE alembic_version"):  # harmless when empty
            revision, schema, _ = state(url)
            assert (revision, schema) != (start, SNAPSHOTS[start]), "nothing was left behind"
        assert_migrated(url, rows)
    assert n > 1


FAILING_STEP = '''
"""A step whose data migration meets a row it cannot convert (its scratch run, on an empty
database, passes).

Revision ID: 9999
Revises: {previous}
"""

import sqlalchemy as sa
from alembic import op

revision = "9999"
down_revision = "{previous}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("extras", sa.Column("id", sa.Integer(), primary_key=True))
    with op.batch_alter_table("watches") as batch:
        batch.alter_column(
            "channel", type_=sa.String(40), existing_type=sa.String(32), existing_nullable=False
        )
    op.execute("INSERT INTO extras (id) VALUES (1)")
    broken = sa.text("SELECT count(*) FROM watches WHERE channel = 'C0ALERTS01'")
    if op.get_bind().execute(broken).scalar():
        raise RuntimeError("cannot convert the watch of C0ALERTS01")


def downgrade() -> None:
    pass
'''


def test_a_failing_step_leaves_the_revision_before_the_upgrade(tmp_path: Path) -> None:
    scripts = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / "9999_fails.py").write_text(FAILING_STEP.format(previous=HEAD))
    assert ScriptDirectory(str(scripts)).get_current_head() == "9999"
    before = REVISIONS[-2]  # the upgrade runs the newest real step, then the failing one
    url = file_at(tmp_path / "iamauth.db", before)
    engine = make_engine(url)
    with pytest.raises(RuntimeError, match="cannot convert"):
        migrate(engine, scripts)
    engine.dispose()
    assert state(url) == (before, SNAPSHOTS[before], ROWS)
    assert_migrated(url, ROWS)


def test_a_file_that_cannot_be_repaired_is_refused_with_what_to_do(
    moto_endpoint: str, slack: SlackStandIn, tmp_path: Path
) -> None:
    """audit_log (revision 0002) holds a row, yet the file says 0001: dropping it would lose it."""
    path = tmp_path / "iamauth.db"
    url = file_at(path, "0002")
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO audit_log (at, user_id, channel_id, action, outcome, detail)"
                " VALUES ('2025-08-11', 'U1', 'C1', 'watch', 'allowed', '')"
            )
        )
        connection.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    with pytest.raises(UnusableDatabase, match="table audit_log is not empty"):
        migrate(engine)
    engine.dispose()
    assert state(url)[0] == "0001"  # nothing changed
    result = run_iamauth(
        clock_env(moto_endpoint, slack, url, write_config(tmp_path)), "clock", "--once"
    )
    assert result.returncode == 2
    assert f"iamauth: {path} does not match its recorded schema revision" in result.stderr
    assert "restore a backup" in result.stderr


def test_a_file_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    url = file_at(tmp_path / "iamauth.db", HEAD)
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'f00d'"))
    with pytest.raises(
        UnusableDatabase, match=f"revision f00d, newer than this iamauth knows \\({HEAD}\\)"
    ):
        migrate(engine)
    engine.dispose()
