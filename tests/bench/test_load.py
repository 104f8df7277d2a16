"""The load process keeps its own pauses out of the figures (bench/load.py)."""

from __future__ import annotations

import gc

import pytest

from bench.load import measured


def test_a_measured_run_has_no_garbage_collector_and_gives_it_back():
    async def collector_during_the_run() -> bool:
        return gc.isenabled()

    assert gc.isenabled()
    assert measured(collector_during_the_run()) is False
    assert gc.isenabled()


def test_a_failing_run_gives_the_collector_back_too():
    async def fail() -> None:
        raise RuntimeError("server gone")

    with pytest.raises(RuntimeError):
        measured(fail())
    assert gc.isenabled()
