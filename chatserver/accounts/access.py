"""When an account's access ends: deactivation, log-out and a password change.

Django ends the *session* in each case (an inactive user, a flushed session, a session hash
that no longer matches), but an open WebSocket checked its session once, at connect, and would
keep receiving every message. This module says that access ended, through one signal,
:data:`access_ended`, sent after the change is committed; the real-time layer
(``chatserver/realtime/access.py``) closes the matching sockets. Plain Django: it knows nothing
of sockets.

``access_ended`` is sent with ``user_id`` and, to narrow which sockets close,
``session_key`` (only that session's, for a log-out) or ``keep_session`` (every session but
that one, for a password change made from it).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models.signals import post_save, pre_save
from django.dispatch import Signal, receiver

access_ended = Signal()

# The session a password change is made from: it stays signed in (Django cycles its key and
# updates its hash), so its sockets stay open too. Set by the password-change view.
_keeping: contextvars.ContextVar[str | None] = contextvars.ContextVar("keeping", default=None)


@contextlib.contextmanager
def keeping_session(session_key: str | None) -> Iterator[None]:
    """Within this block, a password change leaves ``session_key``'s sockets open."""
    token = _keeping.set(session_key)
    try:
        yield
    finally:
        _keeping.reset(token)


def end_access(*, user_id: int, session_key: str | None = None, keep_session: str | None = None):
    """Announce, once the current transaction commits, that these sessions lost access."""

    def send() -> None:
        access_ended.send(
            sender=None, user_id=user_id, session_key=session_key, keep_session=keep_session
        )

    transaction.on_commit(send, robust=True)


@receiver(pre_save, sender=get_user_model(), dispatch_uid="deskchat-access-before")
def _remember_before(sender: Any, instance: Any, update_fields: Any = None, **kwargs: Any) -> None:
    """Read what the row says now, to compare after the save. Saves that touch neither field
    (``last_login`` at each log-in) cost no query."""
    instance._deskchat_before = None
    if instance.pk is None:
        return
    if update_fields is not None and not {"is_active", "password"} & set(update_fields):
        return
    instance._deskchat_before = (
        sender.objects.filter(pk=instance.pk).values_list("is_active", "password").first()
    )


@receiver(post_save, sender=get_user_model(), dispatch_uid="deskchat-access-after")
def _compare_after(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    before = getattr(instance, "_deskchat_before", None)
    instance._deskchat_before = None
    if created or before is None:
        return
    was_active, old_password = before
    if was_active and not instance.is_active:
        end_access(user_id=instance.pk)
    elif old_password != instance.password:
        end_access(user_id=instance.pk, keep_session=_keeping.get())


@receiver(user_logged_out, dispatch_uid="deskchat-access-logout")
def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """Sent by Django before it flushes the session: its key is still the one sockets hold.

    The session leaves the store here, before its sockets are told: a page told at once goes
    to log in, and the login page must find it signed out (it would send a signed-in visitor
    straight back to the chat). Django's flush right after finds nothing left to delete.
    """
    session = getattr(request, "session", None)
    key = getattr(session, "session_key", None)
    if user is not None and key:
        session.delete(key)
        end_access(user_id=user.pk, session_key=key)
