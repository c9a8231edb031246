"""The typed table reader that every schema reads through: each error names its true line."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import ConfigError
from bot.config.file import EMPTY, Table, read_file
from tests.unit.config.files import config, refusal


def test_unknown_keys_are_named_with_their_table_if_any() -> None:
    assert refusal(lambda f: f.refuse_unknown({"aws"}), "[aws]", "", "[wat]") == (
        "IAMAUTH_CONFIG line 3: unknown key `wat`."
    )
    assert refusal(lambda f: f.table("limits", {"event_cap"}), "[limits]", "evnet_cap = 5") == (
        "IAMAUTH_CONFIG line 2: unknown key `evnet_cap` in [limits]."
    )


def test_a_table_that_is_not_one() -> None:
    assert refusal(lambda f: f.table("aws"), "", "aws = 3") == (
        "IAMAUTH_CONFIG line 2: [aws] must be a table."
    )


def test_a_table_of_one_shape_gives_one_message_for_both_mistakes() -> None:
    def read(file: Table) -> Table:
        return file.table("clusters").table("prod-db", {"owners"}, wrong="takes `owners`.")

    assert refusal(read, "[clusters]", 'prod-db = "x"') == "IAMAUTH_CONFIG line 2: takes `owners`."
    assert refusal(read, "[clusters.prod-db]", "", "owner = []") == (
        "IAMAUTH_CONFIG line 3: takes `owners`."
    )
    assert config("[clusters.prod-db]").table("clusters").table("prod-db").label == (
        "[clusters.prod-db]"
    )


def test_array_tables_in_file_order_each_at_its_header() -> None:
    file = config("[[target]]", 'name = "a"', "", "[[target]]", "")
    first, second = file.tables("target")
    assert first.values == {"name": "a"}
    assert second.label == "[[target]]"
    assert str(second.error("nothing here.")) == "IAMAUTH_CONFIG line 4: nothing here."
    assert config().tables("target") == []


@pytest.mark.parametrize(
    ("lines", "line"),
    [
        (("", "target = 3"), 2),
        (("target = [", "  { name = 'a' },", "  3,", "]"), 3),
    ],
)
def test_array_tables_that_are_not_tables(lines: tuple[str, ...], line: int) -> None:
    assert refusal(lambda f: f.tables("target"), *lines) == (
        f"IAMAUTH_CONFIG line {line}: use [[target]] tables."
    )


def test_strings() -> None:
    table = config("[t]", 'name = "x"', "number = 5").table("t")
    assert table.string("name") == "x"
    assert table.string("absent") is None
    assert table.required_string("name") == "x"
    assert refusal(lambda f: f.table("t").string("number"), "[t]", "", "number = 5") == (
        "IAMAUTH_CONFIG line 3: [t] number must be a string."
    )
    assert refusal(lambda f: f.table("t").required_string("name"), "[t]", "other = 1") == (
        "IAMAUTH_CONFIG line 1: [t] needs `name` as a string."  # missing: at the header
    )


def test_a_string_that_must_match() -> None:
    digits = re.compile(r"\A[0-9]+\Z")
    assert config("[t]", 'id = "12"').table("t").matching("id", digits, "wrong.") == "12"
    assert config("[t]").table("t").matching("id", digits, "wrong.") is None
    for value in ('"1a"', "12"):
        message = refusal(
            lambda f: f.table("t").matching("id", digits, "wrong."), "[t]", f"id = {value}"
        )
        assert message == "IAMAUTH_CONFIG line 2: wrong."


def test_booleans_and_whole_numbers() -> None:
    table = config("[t]", "on = false", "n = 7").table("t")
    assert table.boolean("on", True) is False
    assert table.boolean("absent", True) is True
    assert table.whole("n", 1) == 7
    assert table.whole("absent", 3) == 3
    assert refusal(lambda f: f.table("t").boolean("on", True), "[t]", 'on = "yes"') == (
        "IAMAUTH_CONFIG line 2: on must be true or false."
    )
    for value in ("true", "0", '"7"', "7.0"):
        message = refusal(lambda f: f.table("t").whole("n", 1), "[t]", f"n = {value}")
        assert message == "IAMAUTH_CONFIG line 2: [t] n must be a positive whole number."
    message = refusal(lambda f: f.table("t").whole("n", 1, minimum=0, maximum=9), "[t]", "n = 10")
    assert message == "IAMAUTH_CONFIG line 2: [t] n must be a whole number from 0 to 9."


def test_durations() -> None:
    assert config("[t]", 'w = "2d"').table("t").duration("w", timedelta(0)) == timedelta(days=2)
    assert config("[t]").table("t").duration("w", timedelta(1)) == timedelta(1)
    assert refusal(lambda f: f.table("t").duration("w", timedelta(0)), "[t]", "w = 5") == (
        'IAMAUTH_CONFIG line 2: [t] w must be a window like "14d".'
    )
    message = refusal(lambda f: f.table("t").duration("w", timedelta(0)), "[t]", 'w = "91d"')
    assert message.startswith("IAMAUTH_CONFIG line 2: [t] w: A window can be at most")


def test_lists_of_strings_each_item_at_its_own_line() -> None:
    def read(file: Table) -> list[str] | None:
        return file.table("t").strings(
            "ids", str.isupper, refused=lambda item: f"{item!r} is not upper case."
        )

    assert config("[t]", 'ids = ["A", "B"]').table("t").strings("ids", str.isupper) == ["A", "B"]
    assert config("[t]").table("t").strings("ids", str.isupper) is None
    assert refusal(read, "[t]", 'ids = "A"') == (
        "IAMAUTH_CONFIG line 2: [t] ids must be a list of strings."
    )
    assert refusal(read, "[t]", "ids = [", '  "A",', "  3,", "]") == (
        "IAMAUTH_CONFIG line 4: [t] ids must be a list of strings."
    )
    assert refusal(read, "[t]", "ids = [", '  "A",', '  "b",', "]") == (
        "IAMAUTH_CONFIG line 4: 'b' is not upper case."
    )
    wrong = config("[t]", "ids = [", '  "b",', "]").table("t")
    with pytest.raises(ConfigError, match=r"^IAMAUTH_CONFIG line 3: upper only\.$"):
        wrong.strings("ids", str.isupper, wrong="upper only.")


def test_reading_the_file(tmp_path: Path) -> None:
    path = tmp_path / "iamauth.toml"
    path.write_text('[aws]\nregion = "eu-west-1"\n')
    assert read_file(path).values == {"aws": {"region": "eu-west-1"}}
    path.write_bytes(b'[aws]\nregion = "\xff"\n')
    with pytest.raises(
        ConfigError, match=rf"^IAMAUTH_CONFIG: cannot read {re.escape(str(path))}: "
    ):
        read_file(path)
    path.write_text("[aws\n")
    with pytest.raises(ConfigError, match=r"is not valid TOML: .*line 1"):
        read_file(path)
    with pytest.raises(ConfigError, match=r"cannot read .*: No such file or directory\.$"):
        read_file(tmp_path / "nope.toml")


def test_no_file_reads_as_an_empty_one() -> None:
    assert EMPTY.values == {}
    assert EMPTY.tables("watch") == []
    assert EMPTY.table("limits", {"event_cap"}).whole("event_cap", 5) == 5
