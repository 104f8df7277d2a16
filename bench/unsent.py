"""Removing uploads never sent: how long each round holds the database.

``nice -n 10 .venv/bin/python -m bench.unsent [--files 10000]``: a fresh data folder (SQLite,
removed afterwards; or an empty PostgreSQL database named by ``DESKCHAT_DATABASE_URL``, which
keeps its user and room), that many unsent upload rows made two days ago,
each with a content file of its own in the store; then the server's own sweep
(``unsent_files_sweep``, 100 rows a call, as ``realtime/worker.py`` runs it) until none is
left. Prints JSON: the total, and the time of one call (the longest any other database work
of that process waits behind it). docs/benchmarks.md records the figures.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from typing import Any

from bench.cli import machine, positive_int

BATCH = 100


def run(files: int) -> dict[str, Any]:
    folder = tempfile.mkdtemp(prefix="deskchat-bench-unsent-")
    try:
        return _run(files, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _run(files: int, folder: str) -> dict[str, Any]:
    os.environ["DESKCHAT_DATA_DIR"] = folder
    os.environ["DJANGO_SETTINGS_MODULE"] = "chatserver.settings"
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from chatserver.chat.filestore import file_store
    from chatserver.chat.models import Attachment, Room
    from chatserver.chat.services.files import unsent_files_sweep

    call_command("migrate", verbosity=0)
    uploader = get_user_model().objects.create_user("uploader")
    room = Room.objects.create(name="bench")
    store = file_store()
    rows = []
    for number in range(files):
        content = f"file {number}".encode()
        sha256 = hashlib.sha256(content).hexdigest()
        path = store.path(sha256)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        rows.append(
            Attachment(
                uploader=uploader,
                room=room,
                name=f"f{number}.txt",
                size=len(content),
                content_type="text/plain",
                sha256=sha256,
            )
        )
    Attachment.objects.bulk_create(rows, batch_size=1000)
    Attachment.objects.update(created_at=timezone.now() - timedelta(hours=48))
    cutoff = timezone.now() - timedelta(hours=24)
    calls: list[float] = []
    removed = contents = 0
    started = time.perf_counter()
    while True:
        call_started = time.perf_counter()
        swept = unsent_files_sweep(uploaded_before=cutoff, store=store, limit=BATCH)
        calls.append(time.perf_counter() - call_started)
        removed += swept.files
        contents += swept.contents
        if swept.files < BATCH:
            break
    total = time.perf_counter() - started
    left_on_disk = sum(1 for path in store.root.rglob("*") if path.is_file())
    return {
        "machine": machine(),
        "engine": connection.vendor,
        "files": files,
        "removed": removed,
        "contents_removed": contents,
        "rows_left": Attachment.objects.count(),
        "files_left_on_disk": left_on_disk,
        "total_s": round(total, 3),
        "calls": len(calls),
        "call_ms_p50": round(statistics.median(calls) * 1000, 1),
        "call_ms_max": round(max(calls) * 1000, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.unsent", description=__doc__)
    parser.add_argument("--files", type=positive_int, default=10_000)
    args = parser.parse_args(argv)
    json.dump(run(args.files), sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
