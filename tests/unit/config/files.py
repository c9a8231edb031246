"""Config texts for the tests of each schema, written one line per argument so that the line a
test expects can be counted from its source."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bot.config import ConfigError
from bot.config.file import Table, parse_file


def config(*lines: str) -> Table:
    return parse_file("\n".join(lines) + "\n", Path("iamauth.toml"))


def refusal(read: Callable[[Table], object], *lines: str) -> str:
    """The message `read` refuses this text with."""
    with pytest.raises(ConfigError) as error:
        read(config(*lines))
    return str(error.value)
