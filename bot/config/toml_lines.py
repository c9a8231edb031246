"""Where each table, key and array item of a TOML text is, for messages that point at its line.

tomllib reads the values but keeps no positions; tree-sitter's TOML grammar gives every node's
line. Paths have tomllib's shape: `("target", 1, "regions", 0)` is the first region of the
second `[[target]]`, `("clusters", "prod-db", "channels")` the key under `[clusters.prod-db]`.
The text is expected to be valid TOML already (tomllib read it first).
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence

import tree_sitter_toml
from tree_sitter import Language, Node, Parser

Path = tuple[str | int, ...]

_LANGUAGE = Language(tree_sitter_toml.language())
_KEYS = frozenset({"bare_key", "quoted_key", "dotted_key"})


class TomlLines:
    def __init__(self, text: str) -> None:
        self._lines: dict[Path, int] = {}
        self._tables: dict[Path, int] = {}  # [[name]] elements seen so far, by array path
        root = Parser(_LANGUAGE).parse(text.encode("utf-8")).root_node
        for node in root.named_children:
            if node.type == "pair":
                self._pair(node, ())
            elif node.type in {"table", "table_array_element"}:
                self._table(node)

    def line(self, path: Sequence[str | int]) -> int:
        """The 1-based line of `path`, or of the nearest table or key holding it (a missing key is
        reported at its table's header); 1 when the text has none of them."""
        for end in range(len(path), 0, -1):
            found = self._lines.get(tuple(path[:end]))
            if found is not None:
                return found
        return 1

    def _note(self, path: Path, node: Node, *, first: bool = False) -> None:
        if first:
            self._lines.setdefault(path, node.start_point.row + 1)
        else:
            self._lines[path] = node.start_point.row + 1

    def _table(self, node: Node) -> None:
        key = _key_node(node)
        parts = _key(key) if key is not None else None
        if not parts:
            return
        # A header inside an array of tables (`[watch.x]`, `[[a.b]]`) belongs to its last element.
        path = (*self._resolve(parts[:-1]), parts[-1])
        for end in range(1, len(path)):
            self._note(path[:end], node, first=True)  # implicit super-tables: first mention
        if node.type == "table_array_element":
            count = self._tables.get(path, 0) + 1
            self._tables[path] = count
            self._note(path, node, first=True)
            path += (count - 1,)
        self._note(path, node)
        for child in node.named_children:
            if child.type == "pair":
                self._pair(child, path)

    def _resolve(self, parts: tuple[str, ...]) -> Path:
        path: Path = ()
        for part in parts:
            path += (part,)
            count = self._tables.get(path)
            if count:
                path += (count - 1,)
        return path

    def _pair(self, node: Node, table: Path) -> None:
        key = _key_node(node)
        parts = _key(key) if key is not None else None
        if not parts:
            return
        path = table + parts
        for end in range(len(table) + 1, len(path)):
            self._note(path[:end], node, first=True)  # `a.b = 1` also defines table `a`
        self._note(path, node)
        values = [c for c in node.named_children if c is not key and c.type != "comment"]
        if values:
            self._value(values[-1], path)

    def _value(self, node: Node, path: Path) -> None:
        if node.type == "inline_table":
            for child in node.named_children:
                if child.type == "pair":
                    self._pair(child, path)
        elif node.type == "array":
            items = [c for c in node.named_children if c.type != "comment"]
            for index, item in enumerate(items):
                self._note((*path, index), item)
                self._value(item, (*path, index))


def _key_node(node: Node) -> Node | None:
    return next((c for c in node.named_children if c.type in _KEYS), None)


def _key(node: Node) -> tuple[str, ...] | None:
    """The key's parts as tomllib names them (quotes and escapes resolved), or None."""
    try:
        value: object = tomllib.loads(f"{(node.text or b'').decode('utf-8')} = 0")
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return None
    parts: list[str] = []
    while isinstance(value, dict) and len(value) == 1:
        ((name, value),) = value.items()
        parts.append(name)
    return tuple(parts)
