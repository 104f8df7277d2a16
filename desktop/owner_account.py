"""The desktop's own account: the one the window signs in as, and everyone else.

The first run creates it (the first account is the administrator) or adopts an existing one
with its password; its id is kept in the host's prefs, and each launch signs the window in
through a one-time token. Who else has the chat open decides whether closing the window
hides it to the tray and whether Quit asks first (``desktop/tray_lifecycle.py``).
"""

from __future__ import annotations

import functools
import logging
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from desktop.host import Host

logger = logging.getLogger(__name__)


def _closes_connections(method):
    """Called from the window's worker threads: close that thread's database connection after
    each call, so none is left open when the process ends."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        finally:
            if threading.current_thread() is not threading.main_thread():
                from django.db import connections

                connections.close_all()

    return wrapper


class OwnerAccount:
    """The host's owner, read from and written to ``host.prefs``; ``host.url`` is the
    server the sign-in link leads to."""

    def __init__(self, host: Host) -> None:
        self._host = host

    @_closes_connections
    def owner(self):
        """The account this window signs in as, if one was recorded and still exists."""
        from django.contrib.auth import get_user_model

        owner_id = self._host.prefs.owner_id
        if owner_id is None:
            return None
        return get_user_model().objects.filter(pk=owner_id, is_active=True).first()

    @_closes_connections
    def connected_others(self) -> int:
        """How many people other than the desktop's own user have the chat open right now
        (the ones a quit would cut off); any of their tabs and devices counts once."""
        from chatserver.chat.models import Connection

        live = Connection.objects.all()
        if self._host.prefs.owner_id is not None:
            live = live.exclude(user_id=self._host.prefs.owner_id)
        return live.values("user_id").distinct().count()

    @_closes_connections
    def has_accounts(self) -> bool:
        from django.contrib.auth import get_user_model

        return get_user_model().objects.exists()

    def set_owner(self, user) -> None:
        prefs = self._host.prefs
        prefs.owner_id = user.pk
        prefs.owner_username = user.get_username()
        self._host.save_prefs()
        logger.info("the desktop's own account is now %r", prefs.owner_username)

    @_closes_connections
    def login_url(self) -> str:
        """A URL that signs the window in as its owner, once (see accounts/launch_token.py)."""
        from chatserver.accounts import launch_token

        user = self.owner()
        if user is None:
            raise LookupError("no desktop account yet")
        return f"{self._host.url}accounts/desktop-login/?token={launch_token.issue(user.pk)}"

    @_closes_connections
    def create_owner(self, username: str, password1: str, password2: str) -> dict[str, list[str]]:
        """Create the desktop's account (the first one is the administrator); errors by field."""
        from chatserver.accounts.forms import SignupForm
        from chatserver.accounts.services import user_create_from_signup

        form = SignupForm(
            {"username": username, "password1": password1, "password2": password2},
            require_invite=False,
        )
        if not form.is_valid():
            return {k: [str(m) for m in v] for k, v in form.errors.items()}
        self.set_owner(user_create_from_signup(form=form))
        return {}

    @_closes_connections
    def adopt_owner(self, username: str, password: str) -> dict[str, list[str]]:
        """Make an existing account the desktop's own, after checking its password."""
        from django.contrib.auth import authenticate

        user = authenticate(username=username, password=password)
        if user is None:
            return {"__all__": ["That username and password do not match."]}
        self.set_owner(user)
        return {}
