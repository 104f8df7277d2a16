"""The WebSocket protocol's client side: decoding and validating every frame a client sends.

Parsing never trusts the client: every field is checked for presence, type and size here, so
the consumer only ever sees a well-formed :class:`Command`. Server frames are built in
frames.py. docs/protocol.md is the contract.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from chatserver.chat import frames

MAX_CLIENT_ID_CHARS = 64
MAX_ROOM_NAME_CHARS = 64
MAX_NAME_CHARS = 150
MAX_HISTORY_LIMIT = 100
DEFAULT_HISTORY_LIMIT = 50
MAX_FILES_PER_MESSAGE = 10
MAX_SEARCH_LIMIT = 50
DEFAULT_SEARCH_LIMIT = 20

CLIENT_TYPES = frozenset(
    {
        "join",
        "leave",
        "send",
        "history",
        "resume",
        "typing",
        "read",
        "conversations",
        "ping",
        "rename",
        "notify",
        "status",
        "members",
        "search",
    }
)
NOTIFY_LEVELS = ("all", "mentions", "none")
STATUSES = ("available", "away", "dnd")


class ProtocolError(Exception):
    """A frame the server refuses; becomes an ``error`` frame and the connection stays open."""

    def __init__(self, code: str, detail: str, ref: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.ref = ref
        self.extra = extra

    def frame(self) -> dict[str, Any]:
        return frames.error(self.code, self.detail, self.ref, **self.extra)


@dataclass(frozen=True)
class Command:
    """A validated client frame. Only the fields its ``type`` uses are set."""

    type: str
    ref: str
    room: str | None = None
    to: str | None = None
    with_user: str | None = None
    body: str | None = None
    client_id: str | None = None
    before: int | None = None
    since: int | None = None
    around: int | None = None
    after: int | None = None
    q: str | None = None
    limit: int = DEFAULT_HISTORY_LIMIT
    id: int | None = None
    files: tuple[int, ...] = ()
    create: bool = True
    name: str | None = None  # a room's new name (``rename``)
    level: str | None = None
    status: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def decode(text: str | None, max_bytes: int) -> dict[str, Any]:
    if text is None:
        raise ProtocolError("bad_frame", "Frames must be JSON text, not binary.")
    # len(text) <= max_bytes is a cheap lower bound; encode only when it could be over.
    if len(text) > max_bytes or (len(text) * 4 > max_bytes and len(text.encode()) > max_bytes):
        raise ProtocolError("frame_too_large", f"Frames are limited to {max_bytes} bytes.")
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise ProtocolError("bad_json", "The frame is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ProtocolError("bad_frame", "A frame must be a JSON object with a 'type'.")
    return data


def _ref_of(data: dict[str, Any]) -> str | None:
    client_id = data.get("client_id")
    if isinstance(client_id, str) and 0 < len(client_id) <= MAX_CLIENT_ID_CHARS:
        return client_id
    kind = data.get("type")
    return kind if isinstance(kind, str) and len(kind) <= 32 else None


def _string(
    data: dict[str, Any], key: str, ref: str | None, *, required: bool = True
) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise ProtocolError("missing_field", f"The field '{key}' is required.", ref)
        return None
    if not isinstance(value, str):
        raise ProtocolError("bad_field", f"The field '{key}' must be a string.", ref)
    if not is_clean_text(value):
        raise ProtocolError("bad_field", f"The field '{key}' contains invalid characters.", ref)
    return value


def _int(
    data: dict[str, Any], key: str, ref: str | None, *, required: bool, minimum: int = 0
) -> int | None:
    value = data.get(key)
    if value is None:
        if required:
            raise ProtocolError("missing_field", f"The field '{key}' is required.", ref)
        return None
    # bool is an int in Python; a client sending true/false is a client bug worth naming.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProtocolError("bad_field", f"The field '{key}' must be an integer.", ref)
    if value < minimum or value > 2**63 - 1:
        raise ProtocolError("bad_field", f"The field '{key}' is out of range.", ref)
    return value


def is_clean_text(value: str) -> bool:
    """False for lone surrogates (not encodable) and NUL; other text is stored as given."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def normalize_body(body: str, max_chars: int, ref: str | None) -> str:
    body = body.strip()
    if not body:
        raise ProtocolError("empty_body", "The message is empty.", ref)
    if len(body) > max_chars:
        raise ProtocolError(
            "body_too_long", f"Messages are limited to {max_chars} characters.", ref
        )
    return body


def _target(data: dict[str, Any], ref: str | None, *, dm_key: str) -> tuple[str | None, str | None]:
    """A frame addresses either a room or a user (``dm_key`` is "to" or "with"), not both."""
    room = _string(data, "room", ref, required=False)
    user = _string(data, dm_key, ref, required=False)
    if (room is None) == (user is None):
        raise ProtocolError("missing_field", f"Give exactly one of 'room' or '{dm_key}'.", ref)
    return room, user


def parse(data: dict[str, Any], *, max_body_chars: int) -> Command:
    """Validate a decoded frame; raises :class:`ProtocolError` with a precise code."""
    kind = data.get("type")
    ref = _ref_of(data)
    if not isinstance(kind, str):
        raise ProtocolError("missing_field", "The field 'type' is required.", ref)
    if kind not in CLIENT_TYPES:
        shown = kind if len(kind) <= 32 else kind[:32] + "…"
        raise ProtocolError("unknown_type", f"Unknown frame type '{shown}'.", ref)

    if kind == "join":
        # ``create`` is optional and true by default (older clients create on join); a client
        # that asks the person first sends false, and a missing room is then ``unknown_room``.
        create = data.get("create", True)
        if not isinstance(create, bool):
            raise ProtocolError("bad_field", "The field 'create' must be true or false.", ref)
        return Command(kind, ref or kind, room=_string(data, "room", ref), create=create)
    if kind == "leave":
        return Command(kind, ref or kind, room=_string(data, "room", ref))
    if kind == "rename":
        return Command(
            kind, ref or kind, room=_string(data, "room", ref), name=_string(data, "name", ref)
        )
    if kind == "send":
        client_id = _string(data, "client_id", ref)
        assert client_id is not None
        if not 0 < len(client_id) <= MAX_CLIENT_ID_CHARS:
            raise ProtocolError(
                "bad_field", f"'client_id' must be 1 to {MAX_CLIENT_ID_CHARS} characters.", ref
            )
        room, to = _target(data, ref, dm_key="to")
        body = _string(data, "body", ref)
        assert body is not None
        files = _file_ids(data, client_id)
        return Command(
            kind,
            client_id,
            room=room,
            to=to,
            client_id=client_id,
            # With files, the text is optional: a screenshot needs no caption.
            body=body.strip()
            if files and not body.strip()
            else normalize_body(body, max_body_chars, client_id),
            files=files,
        )
    if kind == "history":
        room, with_user = _target(data, ref, dm_key="with")
        limit = _int(data, "limit", ref, required=False, minimum=1)
        if limit is not None and limit > MAX_HISTORY_LIMIT:
            raise ProtocolError("bad_field", f"'limit' must be 1 to {MAX_HISTORY_LIMIT}.", ref)
        before = _int(data, "before", ref, required=False, minimum=1)
        around = _int(data, "around", ref, required=False, minimum=1)
        after = _int(data, "after", ref, required=False, minimum=0)
        if sum(value is not None for value in (before, around, after)) > 1:
            raise ProtocolError("bad_field", "Give only one of 'before', 'after' or 'around'.", ref)
        return Command(
            kind,
            ref or kind,
            room=room,
            with_user=with_user,
            before=before,
            around=around,
            after=after,
            limit=limit or DEFAULT_HISTORY_LIMIT,
        )
    if kind == "search":
        room = _string(data, "room", ref, required=False)
        with_user = _string(data, "with", ref, required=False)
        if room is not None and with_user is not None:
            raise ProtocolError("bad_field", "Give 'room' or 'with', not both.", ref)
        limit = _int(data, "limit", ref, required=False, minimum=1)
        if limit is not None and limit > MAX_SEARCH_LIMIT:
            raise ProtocolError("bad_field", f"'limit' must be 1 to {MAX_SEARCH_LIMIT}.", ref)
        return Command(
            kind,
            ref or kind,
            room=room,
            with_user=with_user,
            q=_string(data, "q", ref),
            before=_int(data, "before", ref, required=False, minimum=1),
            limit=limit or DEFAULT_SEARCH_LIMIT,
        )
    if kind == "resume":
        return Command(kind, ref or kind, since=_int(data, "since", ref, required=True))
    if kind == "typing":
        room, to = _target(data, ref, dm_key="to")
        return Command(kind, ref or kind, room=room, to=to)
    if kind == "read":
        room, with_user = _target(data, ref, dm_key="with")
        return Command(
            kind,
            ref or kind,
            room=room,
            with_user=with_user,
            id=_int(data, "id", ref, required=True),
        )
    if kind == "notify":
        room, with_user = _target(data, ref, dm_key="with")
        level = _choice(data, "level", NOTIFY_LEVELS, ref)
        return Command(kind, ref or kind, room=room, with_user=with_user, level=level)
    if kind == "status":
        return Command(kind, ref or kind, status=_choice(data, "status", STATUSES, ref))
    if kind == "members":
        return Command(kind, ref or kind, room=_string(data, "room", ref))
    return Command(kind, ref or kind)


def _file_ids(data: dict[str, Any], ref: str | None) -> tuple[int, ...]:
    """A ``send``'s optional ``files``: distinct upload ids, at most MAX_FILES_PER_MESSAGE."""
    value = data.get("files")
    if value is None:
        return ()
    if not isinstance(value, list) or not all(
        isinstance(item, int) and not isinstance(item, bool) and 0 < item < 2**63 for item in value
    ):
        raise ProtocolError("bad_field", "'files' must be a list of file ids.", ref)
    if len(value) > MAX_FILES_PER_MESSAGE:
        raise ProtocolError(
            "bad_field", f"A message carries at most {MAX_FILES_PER_MESSAGE} files.", ref
        )
    if len(set(value)) != len(value):
        raise ProtocolError("bad_field", "'files' names a file twice.", ref)
    return tuple(value)


def _choice(data: dict[str, Any], key: str, choices: tuple[str, ...], ref: str | None) -> str:
    value = _string(data, key, ref)
    if value not in choices:
        raise ProtocolError(
            "bad_field", f"The field '{key}' must be one of: {', '.join(choices)}.", ref
        )
    return value


def parse_pm(body: str) -> tuple[str, str] | None:
    """The tutorial's ``/pm USER TEXT`` inside a room: (username, text), or None if not a /pm.

    ``/pm bob`` with no text is still a /pm (answered with ``empty_body``), not a room message.
    """
    if not (body.startswith("/pm ") or body == "/pm"):
        return None
    rest = body[3:].strip()
    username, _, text = rest.partition(" ")
    return username, text.strip()


def valid_room_name(name: str) -> str | None:
    """The cleaned room name, or None: 1–64 characters of letters, digits, spaces, punctuation."""
    cleaned = " ".join(name.split())
    if not 1 <= len(cleaned) <= MAX_ROOM_NAME_CHARS:
        return None
    for char in cleaned:
        category = unicodedata.category(char)
        # Letters, marks, numbers, punctuation, symbols and the plain space; never control,
        # format (e.g. U+202E right-to-left override), surrogate or private-use characters.
        if char != " " and category[0] not in "LMNPS":
            return None
    return cleaned
