"""Tests that need an outside tool skip on a laptop without it, and fail in CI (``CI`` set)."""

from __future__ import annotations

import os
import shutil

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in {"", "0", "false", "no"}


def require(condition: bool, reason: str) -> None:
    """Skip with ``reason`` on a developer machine; fail under CI, where it must be there."""
    if condition:
        return
    if in_ci():
        pytest.fail(f"required in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def require_executable(name: str, hint: str = "") -> str:
    path = shutil.which(name)
    require(path is not None, f"{name} is not installed{' (' + hint + ')' if hint else ''}")
    assert path is not None
    return path
