"""Every environment variable the code reads is documented in docs/configuration.md."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
READ = re.compile(
    r"""(?:env_\w+|environ\.get|getenv|environ\[)\(?\s*["'](DESKCHAT_[A-Z0-9_]+)["']"""
)


def variables_read_by_the_code() -> set[str]:
    found: set[str] = set()
    for folder in ("chatserver", "desktop"):
        for path in (ROOT / folder).rglob("*.py"):
            found |= set(READ.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_setting_is_documented():
    documented = set(
        re.findall(r"`(DESKCHAT_[A-Z0-9_]+)`", (ROOT / "docs/configuration.md").read_text())
    )
    read = variables_read_by_the_code()
    assert read, "the scan found no settings at all: the pattern is broken"
    assert sorted(read - documented) == []
