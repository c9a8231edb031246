from __future__ import annotations

from bot.config.toml_lines import TomlLines

TEXT = """\
# a comment that mentions [[target]] and regions = ["x"]
top = 1
dotted.key = 2

[[target]]
name = "home"
regions = ["us-east-1"]

[[target]]
name = "prod"
regions = [
  "us-east-1",  # home
  "eu-west-1",
]
session_name = \"\"\"
[[target]]
role_arn = "admin"
\"\"\"

[[watch]]
cluster = "a-db"
invalid_token = { count = 5, window = "5m" }

[[watch]]
cluster = "b-db"

[watch.throttling]
count = 2

[clusters."prod-db"]
owners = ["U0ALICE01"]

[ clusters . orders-db ]  # spaced
channels = ["*"]
"""


def test_keys_and_tables_at_their_lines() -> None:
    lines = TomlLines(TEXT)
    assert lines.line(("top",)) == 2
    assert lines.line(("dotted",)) == 3  # `a.b = 1` also defines the table `a`
    assert lines.line(("dotted", "key")) == 3
    assert lines.line(("clusters", "prod-db")) == 30  # quotes resolved as tomllib resolves them
    assert lines.line(("clusters", "prod-db", "owners", 0)) == 31
    assert lines.line(("clusters", "orders-db", "channels")) == 34
    assert lines.line(("clusters",)) == 30  # an implicit table: its first mention


def test_array_tables_are_counted_and_strings_are_not_headers() -> None:
    lines = TomlLines(TEXT)
    assert lines.line(("target",)) == 5
    assert lines.line(("target", 0, "regions", 0)) == 7
    assert lines.line(("target", 1)) == 9
    assert lines.line(("target", 1, "regions", 1)) == 13
    assert lines.line(("target", 1, "session_name")) == 15
    assert lines.line(("target", 2)) == 5  # no third target: the array's first header


def test_a_sub_table_belongs_to_the_last_array_element() -> None:
    lines = TomlLines(TEXT)
    assert lines.line(("watch", 0, "invalid_token", "window")) == 22
    assert lines.line(("watch", 1, "throttling")) == 27
    assert lines.line(("watch", 1, "throttling", "count")) == 28


def test_a_missing_key_is_at_its_table_and_an_unknown_path_at_line_one() -> None:
    lines = TomlLines(TEXT)
    assert lines.line(("watch", 1, "channel")) == 24
    assert lines.line(("access", "admins")) == 1
    assert TomlLines("").line(("aws", "region")) == 1
