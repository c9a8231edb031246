"""SQLite's one scheduler per database file, whatever path each `iamauth clock` is given."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bot.sandbox.slack_standin import SlackStandIn
from tests.integration.test_store_and_leader import clock_env, wait_until, write_config


def other_path(real: Path, tmp_path: Path, kind: str) -> tuple[str, Path]:
    """Another DATABASE_URL path for the file `real`, and the directory to run from."""
    if kind == "symlink to the file":
        (tmp_path / "current.db").symlink_to(real)
        return str(tmp_path / "current.db"), tmp_path
    if kind == "symlink to its directory":
        (tmp_path / "data-link").symlink_to(real.parent, target_is_directory=True)
        return str(tmp_path / "data-link" / real.name), tmp_path
    return f"../{real.parent.name}/{real.name}", tmp_path / "elsewhere"  # relative


@pytest.mark.parametrize(
    "kind", ["symlink to the file", "symlink to its directory", "relative path"]
)
def test_a_second_clock_by_another_path_is_refused(
    kind: str, moto_endpoint: str, slack: SlackStandIn, tmp_path: Path
) -> None:
    real = tmp_path / "data" / "iamauth.db"
    real.parent.mkdir()
    (tmp_path / "elsewhere").mkdir()
    config = write_config(tmp_path)
    first = subprocess.Popen(
        [sys.executable, "-m", "bot", "clock"],
        env=clock_env(moto_endpoint, slack, f"sqlite:///{real}", config),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    lock = Path(f"{real}.lock")
    try:
        wait_until(lambda: lock.exists() and lock.read_text() == str(first.pid))
        path, cwd = other_path(real, tmp_path, kind)
        second = subprocess.run(
            [sys.executable, "-m", "bot", "clock", "--once"],
            env=clock_env(moto_endpoint, slack, f"sqlite:///{path}", config),
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert second.returncode == 2, second.stderr
        assert f"Another iamauth scheduler already runs on {real}." in second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=10)


def test_a_file_with_hard_links_is_refused(
    moto_endpoint: str, slack: SlackStandIn, tmp_path: Path
) -> None:
    real = tmp_path / "iamauth.db"
    env = clock_env(moto_endpoint, slack, f"sqlite:///{real}", write_config(tmp_path))
    once = [sys.executable, "-m", "bot", "clock", "--once"]
    assert subprocess.run(once, env=env, capture_output=True, check=False).returncode == 0
    os.link(real, tmp_path / "copy.db")  # not a copy: the same file by a second name
    refused = subprocess.run(once, env=env, capture_output=True, text=True, check=False)
    assert refused.returncode == 2
    assert f"iamauth: {real} has 2 names (hard links)." in refused.stderr
    assert "Keep one name" in refused.stderr
