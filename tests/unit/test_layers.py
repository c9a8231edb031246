"""The layout's import rules, read from the source with `ast`: no import runs back up (adapters never
import services, services never import views or handlers, nothing imports the bootstrap but the
entry points), the domain does no I/O, and no two folders import each other."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IO_LIBRARIES = (
    "alembic", "apscheduler", "boto3", "botocore", "gunicorn", "h11", "matplotlib",
    "prometheus_client", "pyrate_limiter", "requests", "slack_bolt", "slack_sdk", "socket",
    "sqlalchemy", "subprocess", "urllib.request",
)  # fmt: skip
ENTRY_POINTS = ("bot.cli", "bot.__main__", "bot.sandbox")
# Importer → what it may never import. The digest (bot/services/alerting/) is given its renderer,
# so it imports no view either.
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "bot.domain": ("bot.",),  # bot.domain itself is allowed below
    "bot.ops": ("bot.",),  # bot.ops and bot.domain are allowed below
    "bot.adapters": (
        "bot.services", "bot.views", "bot.web", "bot.sandbox", "bot.bootstrap", "bot.cli",
        "bot.scheduler", "handlers",
    ),
    "bot.services": (
        "bot.views", "bot.web", "bot.sandbox", "bot.bootstrap", "bot.cli", "bot.scheduler",
        "handlers",
    ),
    "bot.views": ("bot.web", "bot.sandbox", "bot.bootstrap", "bot.cli", "bot.scheduler", "handlers"),
    "bot.web": ("bot.sandbox", "bot.bootstrap", "bot.cli", "handlers"),
    "handlers": ("bot.web", "bot.sandbox", "bot.bootstrap", "bot.cli", "bot.scheduler", "boto3", "botocore"),
}  # fmt: skip
ALLOWED = {"bot.domain": ("bot.domain",), "bot.ops": ("bot.ops", "bot.domain")}
# Each adapter owns one outside system; the one that reaches another: the outbox sender takes its
# rows from the store (the outbox is the store's) and posts them to Slack.
ADAPTER_PAIRS = {("bot.adapters.slack", "bot.adapters.store")}


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for top in ("bot", "handlers"):
        for path in sorted((ROOT / top).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function (TYPE_CHECKING included)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                names.add(full if full in MODULES else node.module)
    return names


IMPORTS = {module: _imports(path) for module, path in MODULES.items()}


def _within(name: str, prefix: str) -> bool:
    prefix = prefix.rstrip(".")
    return name == prefix or name.startswith(prefix + ".")


def _breaches(module: str) -> list[str]:
    rules = [(p, f) for p, f in FORBIDDEN.items() if _within(module, p)]
    allowed = next((a for p, a in ALLOWED.items() if _within(module, p)), ())
    found = []
    for name in sorted(IMPORTS[module]):
        if any(_within(name, a) for a in allowed):
            continue
        if any(_within(name, f) or name.startswith(f) for _, banned in rules for f in banned):
            found.append(name)
    if _within(module, "bot.adapters"):
        own = ".".join(module.split(".")[:3])
        found += [
            name
            for name in sorted(IMPORTS[module])
            if _within(name, "bot.adapters")
            and not _within(name, own)
            and (own, ".".join(name.split(".")[:3])) not in ADAPTER_PAIRS
        ]
    return found


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_import_runs_back_up(module: str) -> None:
    assert _breaches(module) == []


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _within(m, "bot.domain")))
def test_the_domain_does_no_io(module: str) -> None:
    assert [n for n in IMPORTS[module] if any(_within(n, lib) for lib in IO_LIBRARIES)] == []


def test_only_the_entry_points_import_the_bootstrap_and_the_sandbox() -> None:
    importers = {
        module
        for module, names in IMPORTS.items()
        if any(_within(n, "bot.bootstrap") or _within(n, "bot.sandbox") for n in names)
    }
    assert {m for m in importers if not any(_within(m, e) for e in ENTRY_POINTS)} == set()


def _folder(module: str) -> str:
    """A module's folder (`bot.adapters.aws.rds` → `bot.adapters.aws`); one directly in bot/ or
    handlers/ stands for itself: entry points and wiring, not peers of a layer."""
    return module if module.count(".") <= 1 else module.rsplit(".", 1)[0]


def test_no_two_folders_import_each_other() -> None:
    edges: dict[str, set[str]] = defaultdict(set)
    for module, names in IMPORTS.items():
        for name in names:
            if name in MODULES and _folder(name) != _folder(module):
                edges[_folder(module)].add(_folder(name))
    loops = sorted(
        {tuple(sorted((a, b))) for a in edges for b in edges[a] if a in edges.get(b, ())}
    )
    assert loops == []


def test_no_two_modules_share_a_name_within_a_layer() -> None:
    """`logs.py` for logging set-up beside `logs.py` for CloudWatch Logs is what this prevents;
    one name across layers (services/watches.py, views/watches.py) is one feature's rooms."""
    by_name: dict[tuple[str, str], list[str]] = defaultdict(list)
    for module in MODULES:
        parts = module.split(".")
        layer = ".".join(parts[:2]) if parts[1:2] != ["adapters"] else "bot.adapters"
        by_name[(layer, parts[-1])].append(module)
    assert {k: v for k, v in by_name.items() if len(v) > 1 and k[1] != "__init__"} == {}
