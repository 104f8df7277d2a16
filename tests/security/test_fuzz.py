"""Hostile frames, generated: the connection survives, every answer is a well-formed frame,
no direct message leaks, and nothing is stored half-way.

One connection of "eve" lives through every example (it must never be closed); alice and bob
share a DM whose text eve must never see. Frames are random JSON, protocol-shaped frames with
random field values, and mutations of valid frames (wrong types, huge numbers, nesting, lone
surrogates, control characters, ``../``, U+202E).
"""

from __future__ import annotations

import asyncio
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatserver.chat.models import Membership, Message, Room
from chatserver.chat.protocol import CLIENT_TYPES, valid_room_name
from tests.support.ws import ChatClient, make_user

SECRET = "alice-and-bob-only"
SERVER_TYPES = {
    "hello",
    "conversations",
    "joined",
    "ack",
    "message",
    "history",
    "resumed",
    "presence",
    "user_presence",
    "typing",
    "read",
    "membership",
    "error",
    "pong",
    "notify",
    "members",
}
FIELDS = [
    "type",
    "room",
    "to",
    "with",
    "body",
    "client_id",
    "before",
    "after",
    "around",
    "since",
    "limit",
    "id",
    "ref",
    "level",
    "status",
]
TRICKY_TEXT = [
    "",
    " ",
    "general",
    "alice",
    "bob",
    "eve",
    "../../etc/passwd",
    "..\\..\\boot.ini",
    "\u202egnp.exe",
    "a\u0000b",
    "\x1b[31mred",
    "\ud800",
    "\udfff lone",
    "x" * 5000,
    "/pm",
    "/pm alice",
    "/pm bob hi",
    "/pm eve self",
    "😀" * 100,
    "null",
    "0",
    "-1",
    "1e309",
    "<script>alert(1)</script>",
    "room\nnewline",
    "\t",
    "\u200b",
    "%00",
    "1:2",
    "2:3",
]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.sampled_from([0, -1, 1, 2**63 - 1, 2**63, 2**64, -(2**63), 10**30])
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(TRICKY_TEXT)
    | st.text(max_size=40)
    | st.text(alphabet=st.characters(codec=None, categories=["Cs", "Cc", "Cf"]), max_size=8)
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
shaped = st.fixed_dictionaries(
    {"type": st.sampled_from(sorted(CLIENT_TYPES))},
    optional={name: values for name in FIELDS if name != "type"},
)
valid = st.sampled_from(
    [
        {"type": "join", "room": "general"},
        {"type": "send", "room": "general", "body": "hi", "client_id": "v1"},
        {"type": "send", "to": "alice", "body": "hi alice", "client_id": "v2"},
        {"type": "history", "with": "bob"},
        {"type": "history", "room": "general", "before": 10, "limit": 5},
        {"type": "history", "room": "general", "after": 3, "limit": 5},
        {"type": "resume", "since": 0},
        {"type": "read", "with": "alice", "id": 1},
        {"type": "typing", "room": "general"},
        {"type": "leave", "room": "general"},
        {"type": "notify", "room": "general", "level": "none"},
        {"type": "notify", "with": "alice", "level": "all"},
        {"type": "status", "status": "dnd"},
        {"type": "members", "room": "general"},
    ]
)


@st.composite
def mutated(draw) -> dict:
    frame = dict(draw(valid))
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from([*frame, *FIELDS]))
        if draw(st.booleans()):
            frame[key] = draw(values)
        else:
            frame.pop(key, None)
    return frame


def as_text(frame) -> str:
    # ensure_ascii keeps lone surrogates as \\ud800 escapes: valid JSON text that decodes to
    # a str a UTF-8 encoder rejects, as a hostile client can send.
    return json.dumps(frame, ensure_ascii=True)


raw_text = st.sampled_from(
    [
        "",
        "{",
        "[]",
        "null",
        "42",
        '"type"',
        '{"type": 1}',
        '{"type": "send"',
        "NaN",
        '{"type": "ping", "x": NaN}',
        '{"type": "ping", "x": Infinity}',
        "[" * 5000,
        '{"a":' * 2000 + "1" + "}" * 2000,
        "\x00",
        '{"type":"ping"}\x00',
    ]
) | st.text(max_size=200)

frames = st.one_of(
    shaped.map(as_text),
    mutated().map(as_text),
    values.map(as_text),
    raw_text,
)


class Arena:
    """The event loop, users and eve's connection shared by every example."""

    def __init__(self) -> None:
        self.acked: set[str] = set()

    async def setup(self) -> None:
        self.alice, self.bob = await make_user("alice"), await make_user("bob")
        self.eve_user = await make_user("eve")
        a = await ChatClient.connect(self.alice)
        await a.say(SECRET, client_id="secret", to="bob")
        await a.close()
        self.eve = await ChatClient.connect(self.eve_user)

    async def exchange(self, text: str) -> list[dict]:
        """Send one frame, then a ping; return every frame up to the pong."""
        # Straight into the application's queue: the communicator refuses an empty text.
        await self.eve.communicator.input_queue.put({"type": "websocket.receive", "text": text})
        await self.eve.send({"type": "ping"})
        replies = []
        while True:
            output = await self.eve.communicator.receive_output(timeout=10)
            assert output["type"] == "websocket.send", f"connection closed: {output}"
            frame = json.loads(output["text"])
            if frame["type"] == "pong":
                return replies
            replies.append(frame)


def check_frame(frame: dict) -> None:
    assert isinstance(frame, dict) and frame.get("type") in SERVER_TYPES, frame
    if frame["type"] == "error":
        assert isinstance(frame["code"], str) and frame["code"]
        assert isinstance(frame["detail"], str) and frame["detail"]
        assert frame["ref"] is None or isinstance(frame["ref"], str)
    if frame["type"] == "ack":
        assert isinstance(frame["id"], int) and isinstance(frame["client_id"], str)
    assert SECRET not in json.dumps(frame), "a DM between alice and bob reached eve"


def check_database(arena: Arena) -> None:
    """Nothing half-stored: every row eve caused is whole and was acknowledged."""
    eve_id = arena.eve_user.pk
    for message in Message.objects.filter(sender_id=eve_id):
        assert message.client_id in arena.acked, f"stored without an ack: {message.client_id}"
        assert (message.room_id is None) != (message.recipient_id is None)
        assert message.body and message.body == message.body.strip()
        assert "\x00" not in message.body
        message.body.encode("utf-8")  # no lone surrogates reached the database
    for room in Room.objects.all():
        assert valid_room_name(room.name) == room.name, f"bad room name stored: {room.name!r}"
    assert Membership.objects.filter(user_id=eve_id).count() <= 200
    assert Message.objects.filter(sender_id=eve_id, client_id__in=arena.acked).count() == len(
        arena.acked
    )


@pytest.fixture
def arena(transactional_db):
    loop = asyncio.new_event_loop()
    arena = Arena()
    arena.loop = loop
    loop.run_until_complete(arena.setup())
    yield arena
    loop.run_until_complete(arena.eve.close())
    loop.close()


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(text=frames)
def test_hostile_frames_never_break_the_connection_or_leak(arena, text):
    replies = arena.loop.run_until_complete(arena.exchange(text))
    for frame in replies:
        check_frame(frame)
        if frame["type"] == "ack":
            arena.acked.add(frame["client_id"])
        if frame["type"] == "message" and "to" in frame:
            assert "eve" in (frame["from"], frame["to"]), frame
    assert not [f for f in replies if f["type"] == "error" and f["code"] == "server_error"], (
        f"the server failed on {text[:200]!r}: {replies}"
    )
    check_database(arena)
