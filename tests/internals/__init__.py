"""Canaries: each file fails when a library whose internals Deskchat reaches into changes.

One file per ``*_internals`` module (STYLE.md, practice 11): the installed version must be in
the module's ``CHECKED_VERSIONS``, and what the module relies on must still be true.
"""

from __future__ import annotations

import re
from importlib.metadata import version
from types import ModuleType


def assert_checked_version(module: ModuleType) -> None:
    """The installed distribution is in ``[low, high)`` of ``module.CHECKED_VERSIONS``."""
    installed = version(module.DISTRIBUTION)
    found = tuple(int(part) for part in re.findall(r"\d+", installed)[:3])
    low, high = module.CHECKED_VERSIONS
    assert low <= found < high, (
        f"{module.DISTRIBUTION} {installed} is outside the range {module.__name__} was checked"
        f" against ({low} to before {high}): check what its docstring says it relies on,"
        " then change CHECKED_VERSIONS"
    )
