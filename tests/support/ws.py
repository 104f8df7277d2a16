"""Channels' WebsocketCommunicator wired to the real ASGI stack with a logged-in session."""

from __future__ import annotations

import json
from typing import Any

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from chatserver.asgi import application

ORIGIN = b"http://127.0.0.1"


@database_sync_to_async
def make_user(username: str, **extra: Any):
    return get_user_model().objects.create_user(
        username=username, password="pw-for-tests-1", **extra
    )


@database_sync_to_async
def session_cookie_for(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


class ChatClient:
    """One WebSocket of one user, with helpers that read frames by type."""

    def __init__(self, communicator: WebsocketCommunicator, username: str) -> None:
        self.communicator = communicator
        self.username = username
        self.hello: dict[str, Any] = {}

    @classmethod
    async def connect(
        cls,
        user,
        *,
        origin: bytes = ORIGIN,
        cookie: str | None = None,
        extensions: dict[str, Any] | None = None,
    ) -> ChatClient:
        """``extensions``: what the server offers in ``scope["extensions"]`` (none here)."""
        cookie = cookie if cookie is not None else await session_cookie_for(user)
        communicator = WebsocketCommunicator(
            application,
            "/ws/",
            headers=[
                (b"origin", origin),
                (b"host", b"127.0.0.1"),
                (b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()),
            ],
        )
        if extensions is not None:  # read by the application when it starts, at connect
            communicator.scope["extensions"] = extensions
        connected, code = await communicator.connect(timeout=5)
        assert connected, f"connection refused ({code})"
        client = cls(communicator, user.username)
        hello = await client.expect("hello")
        assert hello["user"] == user.username
        client.hello = hello
        await client.expect("conversations")
        return client

    async def send(self, frame: dict[str, Any] | str) -> None:
        text = frame if isinstance(frame, str) else json.dumps(frame)
        await self.communicator.send_to(text_data=text)

    async def recv(self, timeout: float = 3) -> dict[str, Any]:
        return json.loads(await self.communicator.receive_from(timeout=timeout))

    async def expect(self, kind: str, timeout: float = 3, **match: Any) -> dict[str, Any]:
        """The next frame of ``kind`` (matching ``match``), skipping others such as presence."""
        while True:
            frame = await self.recv(timeout)
            if frame["type"] == kind and all(frame.get(k) == v for k, v in match.items()):
                return frame
            if frame["type"] == "error" and kind != "error":
                raise AssertionError(f"expected {kind}, got error {frame}")

    async def frames_until(
        self, kind: str, timeout: float = 3, **match: Any
    ) -> list[dict[str, Any]]:
        """Every frame up to and including the next ``kind`` matching ``match``.

        How a test shows that something did NOT arrive: send a marker that must come after it
        on the same path (the same sender, through the channel layer), wait for the marker,
        and look at what came before it. A quiet period proves nothing on a slow machine.
        """
        frames = []
        while True:
            frame = await self.recv(timeout)
            frames.append(frame)
            if frame["type"] == kind and all(frame.get(k) == v for k, v in match.items()):
                return frames

    async def drain(self, timeout: float = 0.2) -> list[dict[str, Any]]:
        """Every frame that arrives before ``timeout`` of quiet."""
        frames = []
        while not await self.communicator.receive_nothing(timeout=timeout):
            frames.append(await self.recv())
        return frames

    async def join(self, room: str) -> dict[str, Any]:
        await self.send({"type": "join", "room": room})
        return await self.expect("joined")

    async def say(self, body: str, *, client_id: str, **target: str) -> dict[str, Any]:
        await self.send({"type": "send", "body": body, "client_id": client_id, **target})
        return await self.expect("ack", client_id=client_id)

    async def close(self) -> None:
        await self.communicator.disconnect()
