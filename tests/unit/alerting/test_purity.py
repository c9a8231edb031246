"""The pure stages import nothing that does I/O: they run on plain values alone."""

from __future__ import annotations

import subprocess
import sys

IO_PACKAGES = ("boto3", "botocore", "sqlalchemy", "slack_sdk", "slack_bolt", "requests")


def test_evaluate_and_group_load_no_io_library() -> None:
    probe = (
        "import sys, bot.services.alerting.evaluate, bot.services.alerting.group;"
        "print(sorted({m.split('.')[0] for m in sys.modules}))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert "bot" in loaded
    assert [name for name in IO_PACKAGES if f"'{name}'" in loaded] == []
