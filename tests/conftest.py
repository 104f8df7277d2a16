"""Shared test set-up: a private data folder per run, and helpers for tools and real servers."""

from __future__ import annotations

import os
import tempfile

# Before Django's settings are imported: never touch the real per-user data folder.
os.environ.setdefault("DESKCHAT_DATA_DIR", tempfile.mkdtemp(prefix="deskchat-test-"))
os.environ.setdefault("DESKCHAT_RATE_BURST", "1000")  # tests send bursts on purpose

import pytest

from tests.support.server import LiveServer, start_live_server


@pytest.fixture
def live_server(tmp_path) -> LiveServer:
    """``python -m desktop --headless --port 0`` as a real process on a fresh data folder."""
    server = start_live_server(tmp_path / "data")
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _live_server_helper():
    """Disable pytest-django's hook for its own ``live_server``: ours is the real process."""
    yield
