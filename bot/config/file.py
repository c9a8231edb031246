"""The TOML file named by IAMAUTH_CONFIG and the typed reader of its tables.

Every schema (bot/config/watches.py, access.py, targets.py, settings.py) reads its values through
`Table`, whose errors name the line of the table, key or array item they are about
(bot/config/toml_lines.py finds it), so no schema counts lines or writes "line N" itself.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

from bot.config.errors import ConfigError
from bot.config.toml_lines import TomlLines
from bot.domain.window import WindowError, parse_duration

KeyPath = tuple[str | int, ...]


def plain(error: Exception) -> str:
    """A domain message without its `code` marks: the file's errors are read in a terminal."""
    return str(error).replace("`", "")


@dataclass(frozen=True)
class Table:
    """One table of the file: the file's text (for lines), its path, its name in messages
    (`[limits]`, `[[watch]]`; empty for the file's top level) and its values."""

    text: str = field(repr=False)  # the whole file: only its lines are wanted, for errors
    path: KeyPath
    label: str
    values: Mapping[str, Any]

    def error(self, reason: str, *keys: str | int) -> ConfigError:
        """An error at `keys` inside this table (at its header when none or missing)."""
        line = TomlLines(self.text).line(self.path + keys)
        return ConfigError(f"IAMAUTH_CONFIG line {line}: {reason}")

    def refuse_unknown(self, known: Collection[str], wrong: str | None = None) -> None:
        """A key not among `known` (a typo) is refused at its line, with `wrong` if given."""
        unknown = sorted(set(self.values) - set(known))
        if unknown:
            where = f" in {self.label}" if self.label else ""
            raise self.error(wrong or f"unknown key `{unknown[0]}`{where}.", unknown[0])

    def table(
        self, key: str, known: Collection[str] | None = None, *, wrong: str | None = None
    ) -> Table:
        """The table under `key` (empty when absent); with `known`, other keys are refused. `wrong`
        replaces both messages of a table that has one shape only (`{ count = 5, … }`)."""
        values = self.values.get(key, {})
        label = f"[{'.'.join(p for p in (*self.path, key) if isinstance(p, str))}]"
        if not isinstance(values, Mapping):
            raise self.error(wrong or f"{label} must be a table.", key)
        table = Table(self.text, (*self.path, key), label, values)
        if known is not None:
            table.refuse_unknown(known, wrong)
        return table

    def tables(self, key: str) -> list[Table]:
        """The `[[key]]` tables, in file order."""
        raw = self.values.get(key, [])
        if not isinstance(raw, list):
            raise self.error(f"use [[{key}]] tables.", key)
        tables = []
        for index, entry in enumerate(raw):
            if not isinstance(entry, Mapping):
                raise self.error(f"use [[{key}]] tables.", key, index)
            tables.append(Table(self.text, (*self.path, key, index), f"[[{key}]]", entry))
        return tables

    def string(self, key: str) -> str | None:
        value = self.values.get(key)
        if value is not None and not isinstance(value, str):
            raise self.error(f"{self.label} {key} must be a string.", key)
        return value

    def required_string(self, key: str) -> str:
        value = self.values.get(key)
        if not isinstance(value, str):
            raise self.error(f"{self.label} needs `{key}` as a string.", key)
        return value

    def matching(self, key: str, pattern: re.Pattern[str], wrong: str) -> str | None:
        """An optional string that must match `pattern`."""
        value = self.values.get(key)
        if value is not None and not (isinstance(value, str) and pattern.match(value)):
            raise self.error(wrong, key)
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.values.get(key, default)
        if not isinstance(value, bool):
            raise self.error(f"{key} must be true or false.", key)
        return value

    def whole(self, key: str, default: int, *, minimum: int = 1, maximum: int | None = None) -> int:
        value = self.values.get(key, default)
        if (
            not isinstance(value, int)
            or isinstance(value, bool)
            or value < minimum
            or (maximum is not None and value > maximum)
        ):
            what = (
                "a positive whole number"
                if maximum is None
                else f"a whole number from {minimum} to {maximum}"
            )
            raise self.error(f"{self.label} {key} must be {what}.", key)
        return value

    def duration(self, key: str, default: timedelta) -> timedelta:
        value = self.values.get(key)
        if value is None:
            return default
        if not isinstance(value, str):
            raise self.error(f'{self.label} {key} must be a window like "14d".', key)
        try:
            return parse_duration(value, maximum=timedelta(days=90))
        except WindowError as error:
            raise self.error(f"{self.label} {key}: {error}", key) from None

    def strings(
        self,
        key: str,
        accept: Callable[[str], bool],
        *,
        wrong: str | None = None,
        refused: Callable[[str], str] | None = None,
    ) -> list[str] | None:
        """The list of strings under `key` (None when absent), each one `accept`ed. `wrong` is the
        message for anything else (default: "must be a list of strings"); `refused(item)` the one
        for a string that is not accepted. Each item's error is at the item's own line."""
        if key not in self.values:
            return None
        values = self.values[key]
        wrong = wrong or f"{self.label} {key} must be a list of strings."
        if not isinstance(values, list):
            raise self.error(wrong, key)
        for index, value in enumerate(values):
            if not isinstance(value, str):
                raise self.error(wrong, key, index)
            if not accept(value):
                raise self.error(refused(value) if refused else wrong, key, index)
        return values


EMPTY = Table("", (), "", MappingProxyType({}))


def read_file(path: Path) -> Table:
    """The file's top level, or ConfigError when it cannot be read or is not TOML."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise ConfigError(f"IAMAUTH_CONFIG: cannot read {path}: {reason}.") from None
    return parse_file(text, path)


def parse_file(text: str, path: Path) -> Table:
    try:
        return Table(text, (), "", tomllib.loads(text))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"IAMAUTH_CONFIG: {path} is not valid TOML: {error}.") from None
