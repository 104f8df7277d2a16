"""People: who can be written to. Every DM read and write checks its peer here."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser

from chatserver.chat.protocol import ProtocolError

User = get_user_model()


def user_by_username(username: str) -> AbstractBaseUser | None:
    """An active user; deactivated accounts cannot be written to or read with."""
    return User.objects.filter(username=username, is_active=True).first()


def require_peer(*, user_id: int, username: str, ref: str | None) -> AbstractBaseUser:
    """The other side of a DM, or the error that says why there is none."""
    peer = user_by_username(username)
    if peer is None:
        raise ProtocolError("unknown_user", f"There is no user called '{username[:150]}'.", ref)
    if peer.pk == user_id:
        raise ProtocolError("dm_to_self", "You cannot send a direct message to yourself.", ref)
    return peer


def usernames(user_ids: list[int]) -> dict[int, str]:
    return dict(User.objects.filter(pk__in=user_ids).values_list("pk", "username"))
