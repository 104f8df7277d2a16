"""Shared test set-up: a private data folder per run, and helpers for tools and real servers."""

from __future__ import annotations

import os
import tempfile

# Before Django's settings are imported: never touch the real per-user data folder.
os.environ.setdefault("DESKCHAT_DATA_DIR", tempfile.mkdtemp(prefix="deskchat-test-"))
os.environ.setdefault("DESKCHAT_RATE_BURST", "1000")  # tests send bursts on purpose

import pytest

from tests.support import health
from tests.support.server import LiveServer, start_live_server


@pytest.fixture
def live_server(tmp_path) -> LiveServer:
    """``python -m desktop --headless --port 0`` as a real process on a fresh data folder.

    Stopped with SIGTERM afterwards; ``_processes_stay_healthy`` then fails the test unless it
    exited with 0 and logged no error (tests/support/health.py)."""
    server = start_live_server(tmp_path / "data")
    yield server
    server.stop()


@pytest.fixture(autouse=True, scope="session")
def _session_processes_stay_healthy(request):
    since = len(health.STARTED)
    yield
    health.check_started(request.node, since)


@pytest.fixture(autouse=True, scope="module")
def _module_processes_stay_healthy(request):
    since = len(health.STARTED)
    yield
    health.check_started(request.node, since)


@pytest.fixture(autouse=True)
def _processes_stay_healthy(request):
    """Every server, worker or window the test started stopped cleanly and logged no error."""
    since = len(health.STARTED)
    yield
    health.check_started(request.node, since)


@pytest.fixture(autouse=True)
def _live_server_helper():
    """Disable pytest-django's hook for its own ``live_server``: ours is the real process."""
    yield


@pytest.fixture(autouse=True)
def _fresh_redis_layer():
    """With ``DESKCHAT_CHANNEL_LAYER=redis://`` (tests/scale reruns tests/chat that way): a
    new layer and an empty Redis per test. pytest-asyncio gives each test its own event loop
    and channels_redis binds its locks to the loop that first used them."""
    yield
    from django.conf import settings

    layer = settings.CHANNEL_LAYERS["default"]
    if not layer["BACKEND"].endswith("RedisChannelLayer"):
        return
    import redis
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    client = redis.Redis.from_url(layer["CONFIG"]["hosts"][0]["address"])
    client.flushdb()
    client.close()
