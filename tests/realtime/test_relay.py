"""Room frames through the server's relay extension, and through ``send`` when it declines.

Deskchat's Daphne protocol offers ``scope["extensions"]["deskchat.relay_text"]`` (a plain
function that writes one text frame at once; chatserver/realtime/websocket_protocol.py).
Here a stand-in relay
records what it was given and hands it to the test communicator, so the same clients read
every frame whichever way it went.
"""

from __future__ import annotations

from typing import Any

import pytest
from channels.testing import WebsocketCommunicator

from chatserver.realtime import websocket_protocol
from chatserver.realtime.codes import RELAY_EXTENSION
from tests.support.ws import ChatClient, make_user

db = pytest.mark.django_db(transaction=True)


class StandInRelay:
    """Writes into the communicator's output, as Daphne's socket write would; may decline."""

    def __init__(self) -> None:
        self.communicator: WebsocketCommunicator | None = None
        self.texts: list[str] = []
        self.open = True

    def __call__(self, text: str) -> bool:
        if not self.open:
            return False
        self.texts.append(text)
        assert self.communicator is not None
        self.communicator.output_queue.put_nowait({"type": "websocket.send", "text": text})
        return True


async def sender_and_relayed_reader(relay: StandInRelay) -> tuple[ChatClient, ChatClient]:
    """alice, and bob whose frames may go through ``relay``, both in room "relay"."""
    alice, bob = await make_user("alice"), await make_user("bob")
    sender = await ChatClient.connect(alice)
    reader = await ChatClient.connect(bob, extensions={RELAY_EXTENSION: relay})
    relay.communicator = reader.communicator
    for client in (sender, reader):
        await client.send({"type": "join", "room": "relay"})
        await client.expect("joined", room="relay")
    return sender, reader


@db
@pytest.mark.asyncio
async def test_room_messages_reach_members_through_the_relay_in_order():
    relay = StandInRelay()
    sender, reader = await sender_and_relayed_reader(relay)
    for n in range(20):
        await sender.send({"type": "send", "room": "relay", "body": f"m{n}", "client_id": f"c{n}"})
    bodies = [(await reader.expect("message"))["body"] for _ in range(20)]
    assert bodies == [f"m{n}" for n in range(20)]
    relayed = [text for text in relay.texts if '"type":"message"' in text.replace(" ", "")]
    assert len(relayed) == 20, "room frames must go through the relay when it is offered"
    await sender.communicator.disconnect()
    await reader.communicator.disconnect()


@db
@pytest.mark.asyncio
async def test_a_declining_relay_falls_back_to_send():
    relay = StandInRelay()
    sender, reader = await sender_and_relayed_reader(relay)
    relay.open = False  # as when the socket is closing: Daphne's own checks then decide
    await sender.send({"type": "send", "room": "relay", "body": "still here", "client_id": "c1"})
    assert (await reader.expect("message"))["body"] == "still here"
    assert relay.texts == [] or all("still here" not in text for text in relay.texts)
    await sender.communicator.disconnect()
    await reader.communicator.disconnect()


class FakeFactory:
    protocol: type | None = None

    def setProtocolOptions(self, **options: Any) -> None:
        self.options = options


class FakeServer:
    """What ``websocket_protocol.install`` touches of ``daphne.server.Server``."""

    def __init__(self) -> None:
        self.ws_factory = FakeFactory()
        self.scopes: list[dict[str, Any]] = []

    def create_application(self, protocol: Any, scope: dict[str, Any]) -> str:
        self.scopes.append(scope)
        return "input queue"


def test_the_server_offers_each_websocket_its_relay(monkeypatch):
    monkeypatch.setattr(websocket_protocol.GuardedWebSocketProtocol, "max_pending_bytes", 0)
    server = FakeServer()
    websocket_protocol.install(server, max_pending_bytes=1024)
    assert server.ws_factory.protocol is websocket_protocol.GuardedWebSocketProtocol
    assert server.ws_factory.options == {"failByDrop": False}  # refused frames get a close code
    protocol = websocket_protocol.GuardedWebSocketProtocol()
    assert server.create_application(protocol, {"type": "websocket"}) == "input queue"
    assert server.scopes[0]["extensions"][RELAY_EXTENSION] == protocol.relay_text
    server.create_application(object(), {"type": "http"})  # HTTP requests get nothing extra
    assert "extensions" not in server.scopes[1]
    # Until the handshake is done (and once closing) the relay declines: ``send`` decides.
    protocol.state = protocol.STATE_CONNECTING
    assert protocol.relay_text("hello") is False
    protocol.state = protocol.STATE_CLOSED
    assert protocol.relay_text("hello") is False
