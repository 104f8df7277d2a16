"""The protocol suites (tests/chat, tests/realtime) again, on Redis + PostgreSQL instead of
memory + SQLite.

Run as a nested pytest so that ``make test`` stays the one command CI runs: settings are
read once per process, so the engines must be chosen in a fresh one. Tests that start their
own server process (marker ``process``) are left out: they pick their engines themselves.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.server import ROOT

pytestmark = [pytest.mark.scale, pytest.mark.process]


# Tests whose point is PostgreSQL: they must be among those that ran and passed there.
MUST_RUN = [
    # The cross-worker duplicate guard: a unique-index conflict, then the retry lookup.
    "tests/realtime/test_writer.py::"
    "test_a_client_id_stored_meanwhile_by_another_worker_is_answered_as_a_retry",
    # A lower id committed after a higher one was delivered still comes with `resume`.
    "tests/realtime/test_resume_overlap.py::test_a_message_committed_after_a_newer_one_is_resumed",
    # An upload removed unsent between a send's read and its UPDATE: the send is refused whole.
    "tests/chat/test_unsent_uploads.py::"
    "test_a_send_whose_file_was_removed_meanwhile_is_refused_whole",
    # Search below the newest-first walk: the index of words keyed by conversation.
    "tests/chat/test_search_agrees.py::test_search_agrees_with_the_orm_across_both_steps[1-16000-32]",
    "tests/realtime/test_search.py::test_phrases_and_joined_words_keep_their_order_below_the_walk",
]


def test_protocol_suite_passes_on_redis_and_postgresql(tmp_path, redis_url, postgres_url):
    report = tmp_path / "engines.xml"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKCHAT_")}
    env.update(
        DESKCHAT_CHANNEL_LAYER=redis_url,
        DESKCHAT_DATABASE_URL=postgres_url,
        # Worker threads must not keep connections open, or the test database cannot be
        # dropped at the end.
        DESKCHAT_DATABASE_CONN_MAX_AGE="0",
        DESKCHAT_DATA_DIR=str(tmp_path),
    )
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/chat",
            "tests/realtime",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--junitxml={report}",
            "-m",
            # memory_layer tests read the in-memory layer's internals; sqlite ones its PRAGMAs.
            "not process and not memory_layer and not sqlite",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    tail = "\n".join((run.stdout + run.stderr).splitlines()[-60:])
    assert run.returncode == 0, (
        f"tests/chat or tests/realtime failed on Redis + PostgreSQL:\n{tail}"
    )
    assert " passed" in run.stdout and "skipped" not in run.stdout.splitlines()[-1], tail
    passed = _passed(report)
    for name in MUST_RUN:
        assert name in passed, f"{name} did not run (and pass) on PostgreSQL"


def _passed(report) -> set[str]:
    """``path::name`` of every test the JUnit report shows as passed."""
    import xml.etree.ElementTree as ElementTree

    passed = set()
    for case in ElementTree.parse(report).iter("testcase"):
        if any(child.tag in {"failure", "error", "skipped"} for child in case):
            continue
        path = case.get("classname", "").replace(".", "/") + ".py"
        passed.add(f"{path}::{case.get('name')}")
    return passed
