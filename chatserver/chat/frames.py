"""Every frame the server sends, built here and only here (docs/protocol.md is the contract).

Services and selectors return data; the real-time consumer and the presence broadcast turn it
into frames with these functions, so a field is named in one place. ``encode`` gives the text
that travels: encoded once per frame, whatever the number of recipients.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from django.utils import timezone

Frame = dict[str, Any]


def encode(frame: Frame) -> str:
    """Compact JSON; non-ASCII kept as is (Cyrillic stays readable and short on the wire)."""
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


# --- the message object -------------------------------------------------------------------


def message(
    *,
    id: int,
    user: str,
    body: str,
    created: datetime,
    client_id: str | None,
    room: str | None,
    to: str | None,
    mentions: list[str],
    files: list[Frame] | None = None,
) -> Frame:
    """The ``message`` object: a room message, or a DM when ``to`` is set.

    ``created`` is UTC; SQLite hands raw SQL a naive datetime, everything else an aware one.
    ``files`` are its attachments' file objects (:func:`file`), in the order they were sent.
    """
    if timezone.is_naive(created):
        created = timezone.make_aware(created, UTC)
    frame: Frame = {
        "type": "message",
        "id": id,
        "user": user,
        "body": body,
        "ts": created.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "client_id": client_id,
        "files": files or [],
        "mentions": mentions,
    }
    if to is None:
        frame["room"] = room
    else:
        frame["from"], frame["to"] = user, to
    return frame


def file(
    *, id: int, name: str, size: int, type: str, width: int | None, height: int | None
) -> Frame:
    """A file object: an upload's answer, and each entry of a message's ``files``.

    Images (``width`` set: Pillow decoded them) also carry their thumbnail and shown size.
    """
    # The name ends the URL so a browser tab, a saved copy and pywebview's save dialog
    # show it; only the id is looked up.
    url = f"/files/{id}/{quote(name, safe='')}"
    frame: Frame = {"id": id, "name": name, "size": size, "type": type, "url": url}
    if width is not None:
        frame.update(thumb=f"/files/{id}/thumb/", width=width, height=height)
    return frame


# --- answers to one client ------------------------------------------------------------------


def hello(*, user: str, version: str, limits: dict[str, Any], status: str) -> Frame:
    return {
        "type": "hello",
        "user": user,
        "version": version,
        "status": status,
        "limits": {
            "max_body_chars": limits["MAX_BODY_CHARS"],
            "max_frame_bytes": limits["MAX_FRAME_BYTES"],
            "rate_per_second": limits["RATE_PER_SECOND"],
            "rate_burst": limits["RATE_BURST"],
            # Not a setting: the protocol's own rule (protocol.valid_room_name), told to
            # clients so they can show a counter instead of cutting a name short.
            "max_room_name_chars": 64,
            # So the page can refuse a too-large file before uploading any of it.
            "max_upload_bytes": limits["MAX_UPLOAD_BYTES"],
            "away_after_seconds": limits["AWAY_AFTER_SECONDS"],
        },
    }


def conversations(*, rooms: list[Frame], dms: list[Frame]) -> Frame:
    """The sidebar: ``rooms`` and ``dms`` entries as selectors.conversations reads them."""
    return {"type": "conversations", "rooms": rooms, "dms": dms}


def joined(
    *,
    room: str,
    online: list[str],
    messages: list[Frame],
    has_more: bool,
    last_read_id: int,
    unread: int,
    mentions: int,
    notify: str,
    status: dict[str, str],
) -> Frame:
    return {
        "type": "joined",
        "room": room,
        "online": online,
        "status": status,
        "messages": messages,
        "has_more": has_more,
        "last_read_id": last_read_id,
        "unread": unread,
        "mentions": mentions,
        "notify": notify,
    }


def history(
    *,
    room: str | None,
    with_user: str | None,
    messages: list[Frame],
    has_more: bool,
    before: int | None = None,
    after: int | None = None,
    around: int | None = None,
    has_newer: bool = False,
) -> Frame:
    """A page of a conversation, oldest first: older than ``before`` (the newest page when
    None; ``has_more``: older ones exist), newer than ``after`` (``has_more``: newer ones
    exist), or centred on ``around`` (a search result opened; ``has_more`` and ``has_newer``
    on each side)."""
    target = {"room": room} if room is not None else {"with": with_user}
    frame: Frame = {"type": "history", **target, "before": before}
    if after is not None:
        frame["after"] = after
    if around is not None:
        frame["around"] = around
        frame["has_newer"] = has_newer
    frame["messages"] = messages
    frame["has_more"] = has_more
    return frame


def search_results(*, q: str, before: int | None, results: list[Frame], has_more: bool) -> Frame:
    """Matching message objects, newest first; ``before`` echoes the page asked for."""
    return {
        "type": "search_results",
        "q": q,
        "before": before,
        "results": results,
        "has_more": has_more,
    }


def resumed(*, since: int, messages: list[Frame], has_more: bool) -> Frame:
    return {"type": "resumed", "since": since, "messages": messages, "has_more": has_more}


def ack(*, client_id: str, id: int) -> Frame:
    return {"type": "ack", "client_id": client_id, "id": id}


def pong() -> Frame:
    return {"type": "pong"}


def error(code: str, detail: str, ref: str | None = None, **extra: Any) -> Frame:
    return {"type": "error", "code": code, "detail": detail, "ref": ref, **extra}


def server_error(detail: str, ref: str | None = None, *, fault: str | None = None) -> Frame:
    """The server could not act on a frame. ``fault`` names a database fault the server
    recognised (``disk_full``, ``busy``, ``damaged``: chat/health.py), so a client can say it
    in the person's language with what to do; absent for anything else (a bug)."""
    extra = {"fault": fault} if fault is not None else {}
    return error("server_error", detail, ref, **extra)


# --- fan-out ----------------------------------------------------------------------------------


def renamed(*, room: str, name: str) -> Frame:
    """A room the connection follows is now called ``name`` (it was ``room``): to every
    connection of every member."""
    return {"type": "renamed", "room": room, "name": name}


def read(*, room: str | None, with_user: str | None, id: int) -> Frame:
    """A read marker moved: to every tab of its user."""
    target = {"room": room} if room is not None else {"with": with_user}
    return {"type": "read", **target, "id": id}


def typing_in_room(*, room: str, user: str) -> Frame:
    return {"type": "typing", "room": room, "user": user}


def typing_to(*, user: str, to: str) -> Frame:
    return {"type": "typing", "from": user, "to": to, "user": user}


def membership(*, action: str, room: str) -> Frame:
    """Another tab of this user joined (``action="join"``) or left a room."""
    return {"type": "membership", "action": action, "room": room}


def presence(*, room: str, online: list[str], status: dict[str, str]) -> Frame:
    return {"type": "presence", "room": room, "online": online, "status": status}


def user_presence(*, users: dict[str, bool], status: dict[str, str]) -> Frame:
    return {"type": "user_presence", "users": users, "status": status}


def notify(*, room: str | None, with_user: str | None, level: str) -> Frame:
    """A conversation's notification level was set: to every tab of its user."""
    target = {"room": room} if room is not None else {"with": with_user}
    return {"type": "notify", **target, "level": level}


def members(*, room: str, members: list[str]) -> Frame:
    """A room's members, for the composer's ``@`` completion."""
    return {"type": "members", "room": room, "members": members}
