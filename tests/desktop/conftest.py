"""Fixtures for tests that open real windows: an Xvfb display per test module."""

from __future__ import annotations

import pytest

from tests.desktop.launcher import start_xvfb


@pytest.fixture(scope="module")
def display():
    process, name = start_xvfb()
    yield name
    process.terminate()
    process.wait(10)
