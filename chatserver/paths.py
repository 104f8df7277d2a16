"""Where Deskchat's files are, from source and frozen alike.

Everything that reads a bundled file (Django's templates, static files and translations, the
window icon) asks this module, so a PyInstaller build and ``python -m desktop`` resolve the same
relative paths. ``pyinstaller.spec`` puts each folder at the same place inside the bundle.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Relative to the project root, from source and inside the bundle alike.
TEMPLATES = ("ui", "templates")
STATIC = ("ui", "static")
LOCALE = ("ui", "locale")
# Raster icons rendered from ui/static/img/icon.svg (window managers and installers want PNG).
ICONS_SOURCE = ("build", "assets", "icons")
ICONS_FROZEN = ("icons",)


def is_frozen() -> bool:
    """True inside a PyInstaller build."""
    return bool(getattr(sys, "frozen", False))


def project_root() -> Path:
    """The folder holding ``chatserver/``, ``desktop/`` and ``ui/``.

    PyInstaller unpacks bundled data under ``sys._MEIPASS`` (the ``_internal`` folder of a
    one-folder build); from source it is the repository.
    """
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root)
    return Path(__file__).resolve().parent.parent


def resource(*parts: str) -> Path:
    """A bundled file, e.g. ``resource("ui", "static", "img", "icon.svg")``."""
    return project_root().joinpath(*parts)


def templates_dir() -> Path:
    return resource(*TEMPLATES)


def static_dir() -> Path:
    return resource(*STATIC)


def locale_dir() -> Path:
    return resource(*LOCALE)


def app_icon(size: int = 256) -> Path:
    """The PNG app icon of ``size`` pixels (falls back to the SVG when no PNG was rendered)."""
    folder = resource(*(ICONS_FROZEN if is_frozen() else ICONS_SOURCE))
    png = folder / f"deskchat-{size}.png"
    return png if png.exists() else static_dir() / "img" / "icon.svg"
