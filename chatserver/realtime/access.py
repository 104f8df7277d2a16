"""Closing the sockets of an account whose access ended (``chatserver/accounts/access.py``).

Every socket is in its user's group (``user-<id>``), in whichever process holds it: one
``access.ended`` event to that group reaches all of them, across workers on Redis too. Each
consumer compares the event with its own session and closes with 4401 when it matches
(``ChatConsumer.access_ended``), exactly as a socket refused at connect is closed.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.dispatch import receiver

from chatserver.accounts.access import access_ended
from chatserver.realtime.groups import user_group

logger = logging.getLogger(__name__)

EVENT_ACCESS_ENDED = "access.ended"


def access_ended_event(*, session_key: str | None, keep_session: str | None) -> dict[str, Any]:
    return {"type": EVENT_ACCESS_ENDED, "session_key": session_key, "keep_session": keep_session}


def ends_this_socket(event: dict[str, Any], socket_session: str | None) -> bool:
    """Whether a socket opened with ``socket_session`` loses access by ``event``."""
    if event.get("session_key") is not None:
        return event["session_key"] == socket_session
    keep = event.get("keep_session")
    return keep is None or keep != socket_session


@receiver(access_ended, dispatch_uid="deskchat-close-sockets")
def close_sockets(
    sender: Any,
    *,
    user_id: int,
    session_key: str | None = None,
    keep_session: str | None = None,
    **kwargs: Any,
) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    event = access_ended_event(session_key=session_key, keep_session=keep_session)
    try:
        async_to_sync(layer.group_send)(user_group(user_id), event)
    except Exception:
        # The change itself is committed; the sockets still end at their next connect.
        logger.exception("could not tell the sockets of user %s that access ended", user_id)
