"""Uploads never sent are removed after DESKCHAT_UNSENT_UPLOAD_HOURS (docs/protocol.md,
"Uploads never sent"): the row, and the stored content only when no other upload names it;
a send racing the removal wins or loses whole. Rerun on PostgreSQL by
tests/scale/test_protocol_on_engines.py."""

from __future__ import annotations

import hashlib
import threading
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.utils import timezone

from chatserver.chat.filestore import file_store
from chatserver.chat.models import Attachment, Membership, Message, Room
from chatserver.chat.protocol import ProtocolError
from chatserver.chat.services import files as file_services
from chatserver.chat.services import messages as message_services
from chatserver.chat.services.files import unsent_files_sweep
from tests.chat.test_files import png

User = get_user_model()
KEEP_HOURS = 24


@pytest.fixture
def store(settings, tmp_path):
    settings.DESKCHAT = {**settings.DESKCHAT, "FILES_DIR": tmp_path / "files"}
    return tmp_path / "files"


@pytest.fixture
def alice():
    room = Room.objects.create(name="general")
    account = User.objects.create_user(username="alice", password="pw-for-tests-1")
    Membership.objects.create(user=account, room=room)
    return account


def uploaded(account, content: bytes, name: str = "notes.txt") -> int:
    client = Client()
    client.force_login(account)
    reply = client.post("/files/", {"file": SimpleUploadedFile(name, content), "room": "general"})
    assert reply.status_code == 201, reply.content
    return reply.json()["id"]


def made_hours_ago(file_id: int, hours: float) -> None:
    Attachment.objects.filter(pk=file_id).update(created_at=timezone.now() - timedelta(hours=hours))


def sweep() -> file_services.Swept:
    return unsent_files_sweep(
        uploaded_before=timezone.now() - timedelta(hours=KEEP_HOURS), store=file_store()
    )


def send(account, file_id: int, client_id: str):
    request = message_services.SendRequest(
        sender_id=account.pk,
        sender_username=account.username,
        body="",
        client_id=client_id,
        room_name="general",
        files=(file_id,),
    )
    return message_services.message_create_many(requests=[request])[0]


def content_path(store, content: bytes):
    digest = hashlib.sha256(content).hexdigest()
    return store / digest[:2] / digest


def thumb_path(store, content: bytes):
    return store / "thumbs" / f"{hashlib.sha256(content).hexdigest()}.webp"


def downloadable(account, file_id: int) -> bool:
    client = Client()
    client.force_login(account)
    reply = client.get(f"/files/{file_id}/")
    return reply.status_code == 200 and b"".join(reply.streaming_content) != b""


@pytest.mark.django_db
def test_an_old_unsent_upload_goes_with_its_content_and_thumbnail(store, alice):
    picture = png()
    old = uploaded(alice, picture, "shot.png")
    recent = uploaded(alice, b"just uploaded")
    assert content_path(store, picture).exists() and thumb_path(store, picture).exists()
    made_hours_ago(old, KEEP_HOURS + 1)
    made_hours_ago(recent, KEEP_HOURS - 1)

    assert sweep() == file_services.Swept(files=1, contents=1)
    assert list(Attachment.objects.values_list("pk", flat=True)) == [recent]
    assert not content_path(store, picture).exists()
    assert not thumb_path(store, picture).exists()
    assert not downloadable(alice, old)
    assert downloadable(alice, recent)
    assert not [p for p in (store / "tmp").iterdir()]  # nothing set aside is left behind
    assert sweep() == file_services.Swept(files=0, contents=0)  # a second round finds nothing


@pytest.mark.django_db
def test_sent_uploads_stay_however_old(store, alice):
    sent = uploaded(alice, b"sent long ago")
    assert send(alice, sent, "c1").created
    made_hours_ago(sent, 1000)
    assert sweep() == file_services.Swept(files=0, contents=0)
    assert downloadable(alice, sent)


@pytest.mark.django_db
def test_a_content_another_upload_names_stays_until_the_last_one_goes(store, alice):
    shared = b"the same bytes, uploaded three times"
    sent, unsent_old, unsent_recent = (uploaded(alice, shared) for _ in range(3))
    assert send(alice, sent, "c1").created
    for file_id in (sent, unsent_old):
        made_hours_ago(file_id, KEEP_HOURS + 5)

    assert sweep() == file_services.Swept(files=1, contents=0)
    assert content_path(store, shared).exists()
    assert downloadable(alice, sent) and downloadable(alice, unsent_recent)

    # The sent one's message goes (no deletion exists yet: as the database would cascade),
    # and the recent one ages: the content goes with the last row that named it.
    Message.objects.filter(pk=Attachment.objects.get(pk=sent).message_id).delete()
    made_hours_ago(unsent_recent, KEEP_HOURS + 1)
    assert sweep() == file_services.Swept(files=1, contents=1)
    assert not content_path(store, shared).exists()


@pytest.mark.django_db
def test_a_send_naming_a_removed_upload_is_refused_in_words(store, alice):
    file_id = uploaded(alice, b"waited too long")
    made_hours_ago(file_id, KEEP_HOURS + 1)
    sweep()
    outcome = send(alice, file_id, "late")
    assert isinstance(outcome, ProtocolError) and outcome.code == "unknown_file"
    assert "unsent too long" in outcome.detail and "upload it again" in outcome.detail
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_many_old_uploads_go_a_batch_at_a_time(store, alice):
    ids = [uploaded(alice, f"file {n}".encode()) for n in range(5)]
    for file_id in ids:
        made_hours_ago(file_id, KEEP_HOURS + 1)
    before = timezone.now() - timedelta(hours=KEEP_HOURS)
    rounds = []
    while swept := unsent_files_sweep(uploaded_before=before, store=file_store(), limit=2).files:
        rounds.append(swept)
    assert rounds == [2, 2, 1]
    assert not Attachment.objects.exists()
    assert not [p for p in store.rglob("*") if p.is_file()]


@pytest.mark.django_db
def test_an_upload_of_the_same_bytes_during_the_removal_keeps_its_content(
    store, alice, monkeypatch
):
    """The removal reads the old row, then another upload of the same bytes stores its row
    (the content is in place, so it writes none): the removal must see that row and keep
    the content."""
    shared = b"uploaded again while the old copy is removed"
    old = uploaded(alice, shared)
    made_hours_ago(old, KEEP_HOURS + 1)
    real_read = file_services._stale_unsent
    again = []

    def read_then_upload_again(**kwargs):
        stale = real_read(**kwargs)
        again.append(uploaded(alice, shared))
        return stale

    monkeypatch.setattr(file_services, "_stale_unsent", read_then_upload_again)
    assert sweep() == file_services.Swept(files=1, contents=0)
    assert content_path(store, shared).read_bytes() == shared
    assert downloadable(alice, again[0])


def _in_thread(target, *args) -> threading.Thread:
    """Run ``target`` on a thread of its own (its own database connection, as another
    worker's), closing that connection at the end."""

    def run() -> None:
        try:
            target(*args)
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
def test_a_file_being_attached_is_never_removed(store, alice, monkeypatch):
    """The removal reads the upload as unsent while a send is attaching it (not yet
    committed): its DELETE, checked again once the send is committed, leaves the file."""
    content = b"attached at the same moment"
    file_id = uploaded(alice, content)
    made_hours_ago(file_id, KEEP_HOURS + 1)
    read_done = threading.Event()
    result: list[file_services.Swept] = []
    real_read = file_services._stale_unsent

    def read_and_say(**kwargs):
        stale = real_read(**kwargs)
        read_done.set()
        return stale

    monkeypatch.setattr(file_services, "_stale_unsent", read_and_say)
    real_attach = message_services._attach
    sweeper: list[threading.Thread] = []

    def attach_then_let_the_removal_read(message, files):
        real_attach(message, files)  # the row is now the send's, uncommitted
        sweeper.append(_in_thread(lambda: result.append(sweep())))
        assert read_done.wait(15), "the removal did not read"

    monkeypatch.setattr(message_services, "_attach", attach_then_let_the_removal_read)
    outcome = send(alice, file_id, "c1")
    sweeper[0].join(30)
    assert not sweeper[0].is_alive()
    assert outcome.created and outcome.frame["files"][0]["id"] == file_id
    assert result == [file_services.Swept(files=0, contents=0)]
    assert Attachment.objects.get(pk=file_id).message_id == outcome.frame["id"]
    assert content_path(store, content).read_bytes() == content
    assert downloadable(alice, file_id)


@pytest.mark.django_db(transaction=True)
def test_a_send_whose_file_was_removed_meanwhile_is_refused_whole(store, alice, monkeypatch):
    """PostgreSQL: the send has read its file, another worker removes it, then the send's
    UPDATE finds no unsent row: the batch is redone and refuses the send. (On SQLite the
    send's IMMEDIATE transaction holds the write lock before it reads: the removal waits
    for it, and test_a_file_being_attached_is_never_removed is that case.)"""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one write transaction at a time; this order cannot happen")
    content = b"removed while being sent"
    file_id = uploaded(alice, content)
    made_hours_ago(file_id, KEEP_HOURS + 1)
    real_read = message_services.attachable_files
    reads = []
    removed: list[file_services.Swept] = []

    def read_then_another_worker_removes(ids):
        found = real_read(ids)
        reads.append(found)
        if len(reads) == 1:
            thread = _in_thread(lambda: removed.append(sweep()))
            thread.join(30)
            assert not thread.is_alive()
        return found

    monkeypatch.setattr(message_services, "attachable_files", read_then_another_worker_removes)
    outcome = send(alice, file_id, "c1")
    assert removed == [file_services.Swept(files=1, contents=1)]
    assert len(reads) == 2  # the batch met the removed row once, then was redone
    assert isinstance(outcome, ProtocolError) and outcome.code == "unknown_file"
    assert not Message.objects.exists() and not Attachment.objects.exists()
    assert not content_path(store, content).exists()


@pytest.mark.django_db(transaction=True)  # the worker's own database calls close connections
def test_stored_files_no_upload_names_go_at_the_next_start(store, alice):
    """What a process killed between a sweep's two steps leaves (the rows deleted, their
    files not yet), and only that, is removed when a worker starts."""
    from chatserver.realtime.worker import forget_unnamed_contents

    kept_picture, lost_picture = png(color=(10, 200, 10)), png(color=(10, 10, 200))
    kept = uploaded(alice, kept_picture, "kept.png")
    shared = uploaded(alice, b"named twice")
    uploaded(alice, b"named twice")
    lost = uploaded(alice, lost_picture, "lost.png")
    Attachment.objects.filter(pk__in=[lost, shared]).delete()  # the kill came after this
    stray = store / "notes-by-an-admin.txt"
    stray.write_text("not the store's")
    assert content_path(store, lost_picture).exists() and thumb_path(store, lost_picture).exists()

    assert async_to_sync(forget_unnamed_contents)() == 1
    assert not content_path(store, lost_picture).exists()
    assert not thumb_path(store, lost_picture).exists()
    assert content_path(store, kept_picture).exists() and thumb_path(store, kept_picture).exists()
    assert content_path(store, b"named twice").exists()  # its other upload still names it
    assert downloadable(alice, kept)
    assert stray.exists()
    assert not [p for p in (store / "tmp").iterdir()]  # nothing set aside is left behind
    assert async_to_sync(forget_unnamed_contents)() == 0


def test_how_often_each_worker_looks():
    from chatserver.realtime.worker import sweep_interval

    assert sweep_interval(0) is None  # kept for ever: no sweep at all
    assert sweep_interval(24) == 3600  # at most hourly
    assert sweep_interval(2) == 1800  # a quarter of the keeping time
    assert sweep_interval(0.0001) == 1  # at least a second apart
