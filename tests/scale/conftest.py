"""Fixtures for tests that need Redis, PostgreSQL or nginx (skip on a laptop, fail in CI)."""

from __future__ import annotations

import os

import pytest

from tests.scale.support import (
    HINT,
    POSTGRES_ENV,
    REDIS_ENV,
    create_database,
    drop_database,
    flush_redis,
)
from tests.support.tools import require


@pytest.fixture
def redis_url() -> str:
    """The test Redis (``DESKCHAT_TEST_REDIS_URL``), emptied."""
    url = os.environ.get(REDIS_ENV, "")
    require(bool(url), f"{REDIS_ENV} is not set ({HINT})")
    try:
        flush_redis(url)
    except Exception as error:
        require(False, f"Redis at {url} does not answer: {error}")
    return url


@pytest.fixture
def postgres_url():
    """A fresh PostgreSQL database for this test, dropped afterwards."""
    admin = os.environ.get(POSTGRES_ENV, "")
    require(bool(admin), f"{POSTGRES_ENV} is not set ({HINT})")
    try:
        url = create_database(admin)
    except Exception as error:
        require(False, f"PostgreSQL at {admin} does not answer: {error}")
    yield url
    drop_database(admin, url)


@pytest.fixture
def engines_env(redis_url: str, postgres_url: str) -> dict[str, str]:
    """Environment for a server on Redis + PostgreSQL, with fast presence sweeps."""
    return {
        "DESKCHAT_CHANNEL_LAYER": redis_url,
        "DESKCHAT_DATABASE_URL": postgres_url,
        "DESKCHAT_PRESENCE_HEARTBEAT_SECONDS": "1",
        "DESKCHAT_PRESENCE_STALE_SECONDS": "3",
    }
