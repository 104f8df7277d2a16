"""The host's choices, kept in ``desktop.json`` in the data folder.

What lives here: which account is "the desktop's own user" (the one the window signs in as),
the sign-up policy for people joining over the network, its invite code, the LAN port, and
whether the "still running in the tray" line was shown once already.
The file is private to the user (0600) because it names the owner and holds the invite code.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from desktop.lan import DEFAULT_LAN_PORT

PREFS_NAME = "desktop.json"
SIGNUP_POLICIES = ("open", "invite", "off")


@dataclass
class Prefs:
    owner_id: int | None = None
    owner_username: str = ""
    signup: str = "open"
    invite_code: str = field(default_factory=lambda: secrets.token_urlsafe(6))
    lan_port: int = DEFAULT_LAN_PORT
    tray_hint_shown: bool = False

    def validate(self) -> None:
        if self.signup not in SIGNUP_POLICIES:
            self.signup = "open"
        if not isinstance(self.lan_port, int) or not 1 <= self.lan_port <= 65535:
            self.lan_port = DEFAULT_LAN_PORT
        if not isinstance(self.tray_hint_shown, bool):
            self.tray_hint_shown = False
        if not self.invite_code:
            self.invite_code = secrets.token_urlsafe(6)

    def apply_to_environment(self) -> None:
        """Hand the sign-up policy to Django's settings (read once, before Django starts)."""
        os.environ.setdefault("DESKCHAT_SIGNUP", self.signup)
        os.environ.setdefault("DESKCHAT_INVITE_CODE", self.invite_code)


def load(data_dir: Path) -> Prefs:
    """The saved choices, or defaults; a damaged file is replaced by defaults, not fatal."""
    try:
        raw = json.loads((data_dir / PREFS_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raw = {}
    known = {f.name for f in fields(Prefs)}
    if not isinstance(raw, dict):
        raw = {}
    prefs = Prefs(**{k: v for k, v in raw.items() if k in known})
    prefs.validate()
    return prefs


def save(data_dir: Path, prefs: Prefs) -> None:
    path = data_dir / PREFS_NAME
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(asdict(prefs), fh, indent=2)
    os.replace(tmp, path)
