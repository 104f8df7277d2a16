"""Where Deskchat's files are, from source and frozen alike."""

from __future__ import annotations

import sys
from pathlib import Path


def project_root() -> Path:
    """The folder holding ``chatserver/``, ``desktop/`` and ``ui/``.

    PyInstaller unpacks bundled data under ``sys._MEIPASS``; from source it is the repository.
    """
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root)
    return Path(__file__).resolve().parent.parent


def resource(*parts: str) -> Path:
    """A bundled file, e.g. ``resource("ui", "static", "img", "icon.png")``."""
    return project_root().joinpath(*parts)


def is_frozen() -> bool:
    return bool(getattr(sys, "frozen", False))
