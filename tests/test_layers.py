"""The layers in docs/architecture.md, as imports: each folder uses only the ones below it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(folder: str) -> dict[str, set[str]]:
    """Every module each file under ``folder`` imports (absolute names, any depth)."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / folder).rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
        found[str(path.relative_to(ROOT))] = names
    return found


@pytest.mark.parametrize(
    ("folder", "forbidden"),
    [
        ("chatserver", "desktop"),  # the server runs without any window: headless, frozen, workers
        ("chatserver/chat", "chatserver.realtime"),  # plain Django: no sockets, no Twisted
        ("chatserver/accounts", "chatserver.realtime"),
    ],
)
def test_a_layer_never_imports_the_one_above(folder, forbidden):
    offenders = {
        path: sorted(
            name for name in names if name == forbidden or name.startswith(forbidden + ".")
        )
        for path, names in imported_modules(folder).items()
    }
    assert not {path: names for path, names in offenders.items() if names}


def test_the_layer_check_sees_imports():
    """The check above would pass on a tree it cannot read; make sure it reads this one."""
    assert (
        "chatserver.chat.frames"
        in imported_modules("chatserver/realtime")["chatserver/realtime/consumer.py"]
    )
