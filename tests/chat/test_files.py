"""Uploads and downloads over HTTP (docs/protocol.md, "Files"): storage, limits, hostile
files and who may fetch what."""

from __future__ import annotations

import hashlib
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from chatserver.chat.models import Attachment, Membership, Message, Room, dm_key

pytestmark = pytest.mark.django_db

User = get_user_model()


@pytest.fixture
def store(settings, tmp_path):
    """A fresh files folder per test, so what is (and is not) on disk can be checked."""
    settings.DESKCHAT = {**settings.DESKCHAT, "FILES_DIR": tmp_path / "files"}
    return tmp_path / "files"


def stored_files(store) -> list[str]:
    """Every file under the store, relative (temporary files included)."""
    if not store.exists():
        return []
    return sorted(str(p.relative_to(store)) for p in store.rglob("*") if p.is_file())


def user(name: str, *rooms: Room, **extra) -> User:
    account = User.objects.create_user(username=name, password="pw-for-tests-1", **extra)
    for room in rooms:
        Membership.objects.create(user=account, room=room)
    return account


def client_for(account) -> Client:
    client = Client()
    client.force_login(account)
    return client


def upload(client: Client, content: bytes, name: str = "notes.txt", **target) -> tuple[int, dict]:
    reply = client.post("/files/", {"file": SimpleUploadedFile(name, content), **target})
    return reply.status_code, reply.json()


def png(size=(40, 20), color=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def room():
    return Room.objects.create(name="general")


def test_upload_answers_the_file_object_and_stores_content_once(store, room):
    alice = user("alice", room)
    client = client_for(alice)
    status, first = upload(client, b"hello world", room="general")
    assert status == 201
    assert first == {
        "id": first["id"],
        "name": "notes.txt",
        "size": 11,
        "type": "text/plain",
        "url": f"/files/{first['id']}/notes.txt",
    }
    status, second = upload(client, b"hello world", "copy.txt", room="GENERAL")
    assert status == 201 and second["id"] != first["id"]
    digest = hashlib.sha256(b"hello world").hexdigest()
    assert stored_files(store) == [f"{digest[:2]}/{digest}"]  # once, no temporary left
    reply = client.get(first["url"])
    assert reply.status_code == 200 and b"".join(reply.streaming_content) == b"hello world"
    assert reply["Content-Disposition"] == 'attachment; filename="notes.txt"'


def test_image_gets_thumbnail_and_exif_orientation(store, room):
    alice = user("alice", room)
    client = client_for(alice)
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown turned a quarter: portrait
    Image.new("RGB", (400, 200), (0, 90, 200)).save(out, "JPEG", exif=exif.tobytes())
    status, found = upload(client, out.getvalue(), "photo.jpg", room="general")
    assert status == 201
    assert (found["type"], found["width"], found["height"]) == ("image/jpeg", 200, 400)
    assert found["thumb"] == f"/files/{found['id']}/thumb/"
    assert found["url"] == f"/files/{found['id']}/photo.jpg"
    reply = client.get(found["thumb"])
    assert reply.status_code == 200 and reply["Content-Type"] == "image/webp"
    thumb = Image.open(io.BytesIO(b"".join(reply.streaming_content)))
    assert thumb.size == (160, 320)  # portrait, within the 320 px box
    full = client.get(found["url"])
    assert full["Content-Type"] == "image/jpeg"
    assert full["Content-Disposition"].startswith("inline")
    assert full["X-Content-Type-Options"] == "nosniff"


def test_decompression_bomb_is_refused_and_leaves_nothing(store, room):
    alice = user("alice", room)
    bomb = io.BytesIO()
    Image.new("1", (10_000, 6_000)).save(bomb, "PNG")  # 60 MP in a few kilobytes
    assert len(bomb.getvalue()) < 100_000
    status, answer = upload(client_for(alice), bomb.getvalue(), "tiny.png", room="general")
    assert status == 400 and answer["code"] == "image_too_large"
    assert "too large" in answer["error"]
    assert stored_files(store) == [] and not Attachment.objects.exists()


@pytest.mark.parametrize(
    ("name", "content", "shown_name", "type_"),
    [
        (
            "logo.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "logo.svg",
            "image/svg+xml",
        ),
        (
            "page.html",
            b"<html><script>alert(document.cookie)</script></html>",
            "page.html",
            "text/html",
        ),
        (
            "cat.png",
            b"<html><script>alert(1)</script></html>",
            "cat.png",
            "application/octet-stream",
        ),
        ("../../x", b"climbing out", "x", "application/octet-stream"),
        ("evil\u202egnp.exe", b"MZ not really", "evilgnp.exe", "application/x-msdos-program"),
    ],
)
def test_hostile_files_are_downloads_never_pages(store, room, name, content, shown_name, type_):
    alice = user("alice", room)
    client = client_for(alice)
    status, found = upload(client, content, name, room="general")
    assert status == 201
    assert found["name"] == shown_name
    assert "thumb" not in found and "width" not in found
    reply = client.get(found["url"])
    assert reply.status_code == 200
    assert reply["Content-Type"].split(";")[0] in (type_, "application/octet-stream")
    assert reply["Content-Disposition"].startswith("attachment")
    assert reply["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in reply["Content-Security-Policy"]
    digest = hashlib.sha256(content).hexdigest()
    assert stored_files(store) == [f"{digest[:2]}/{digest}"]  # inside the store, by hash only


def test_refusals_are_json_errors_and_leave_nothing(store, room):
    Room.objects.create(name="private")
    alice, bob = user("alice", room), user("bob")
    client = client_for(alice)
    assert upload(client, b"", room="general")[0] == 400
    assert upload(client, b"x", room="nowhere") == (
        400,
        {"error": "There is no room called 'nowhere'.", "code": "unknown_room"},
    )
    status, answer = upload(client, b"x", room="private")
    assert status == 403 and answer["code"] == "not_joined"
    assert upload(client, b"x", to="nobody")[0] == 400
    assert upload(client, b"x", to="alice")[0] == 400  # no DM with oneself
    assert upload(client, b"x")[0] == 400  # neither room nor to
    assert upload(client, b"x", room="general", to="bob")[0] == 400
    reply = client.post("/files/", {"room": "general"})
    assert reply.status_code == 400 and reply.json()["code"] == "missing_field"
    assert upload(client_for(bob), b"x", to="alice")[0] == 201
    assert Attachment.objects.count() == 1
    assert [p for p in stored_files(store) if p.startswith("tmp/")] == []


def test_former_members_and_deactivated_accounts_cannot_upload(store, room):
    dave, erin = user("dave", room), user("erin", room)
    dave_client, erin_client = client_for(dave), client_for(erin)
    Membership.objects.filter(user=dave).delete()
    status, answer = upload(dave_client, b"x", room="general")
    assert status == 403 and answer["code"] == "not_joined"
    User.objects.filter(pk=erin.pk).update(is_active=False)
    status, answer = upload(erin_client, b"x", room="general")
    assert status == 403 and answer["code"] == "not_logged_in"  # the session ended with it
    # Nor can anyone upload into a DM with a deactivated account.
    assert upload(dave_client, b"x", to="erin")[0] == 400
    assert not Attachment.objects.exists() and stored_files(store) == []


def test_logged_out_and_cross_site_uploads_are_refused(store, room):
    alice = user("alice", room)
    status, answer = upload(Client(), b"x", room="general")
    assert status == 403 and answer["code"] == "not_logged_in"
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    reply = strict.post("/files/", {"file": SimpleUploadedFile("a.txt", b"x"), "room": "general"})
    assert reply.status_code == 403
    assert not Attachment.objects.exists()
    assert stored_files(store) == []  # parsed for the token, then removed
    # With the page's token in the header, as the app sends it, it goes through.
    strict.get("/")
    token = strict.cookies["deskchat_csrftoken"].value
    reply = strict.post(
        "/files/",
        {"file": SimpleUploadedFile("a.txt", b"x"), "room": "general"},
        headers={"X-CSRFToken": token},
    )
    assert reply.status_code == 201


def test_too_large_is_413_by_content_length_and_while_streaming(settings, store, room):
    settings.DESKCHAT = {**settings.DESKCHAT, "MAX_UPLOAD_BYTES": 100_000}
    client = client_for(user("alice", room))
    # Far over: refused from the Content-Length, before the body is parsed.
    status, answer = upload(client, b"x" * 300_000, room="general")
    assert status == 413 and answer["code"] == "too_large"
    # Just over: the header allows for the multipart framing, the handler counts the bytes.
    status, answer = upload(client, b"y" * 100_001, room="general")
    assert status == 413
    assert stored_files(store) == [] and not Attachment.objects.exists()
    assert upload(client, b"z" * 100_000, room="general")[0] == 201


def send(message_room: Room | None, sender, files, to=None) -> Message:
    """Attach through the one send path (the consumer tests cover the frames)."""
    from chatserver.chat.services.messages import SendRequest, message_create_many

    request = SendRequest(
        sender_id=sender.pk,
        sender_username=sender.username,
        body="",
        client_id=f"c{Message.objects.count()}-{sender.pk}",
        room_name=message_room.name if message_room else None,
        to_username=to.username if to else None,
        files=tuple(files),
    )
    (outcome,) = message_create_many(requests=[request])
    assert not isinstance(outcome, Exception), outcome
    return Message.objects.get(pk=outcome.frame["id"])


def test_download_authorization_matrix(store, room):
    other = Room.objects.create(name="other")
    alice, bob = user("alice", room), user("bob", room)
    carol = user("carol", other)  # never in general
    dave = user("dave", room)  # leaves general
    erin = user("erin", room)  # deactivated
    a = client_for(alice)
    clients = {
        n: client_for(u)
        for n, u in [("bob", bob), ("carol", carol), ("dave", dave), ("erin", erin)]
    }
    _, room_file = upload(a, b"room secret", room="general")
    _, dm_file = upload(a, b"dm secret", to="bob")
    _, unsent = upload(a, b"not sent yet", room="general")
    send(room, alice, [room_file["id"]])
    send(None, alice, [dm_file["id"]], to=bob)
    Membership.objects.filter(user=dave).delete()
    User.objects.filter(pk=erin.pk).update(is_active=False)

    def status(client, found) -> int:
        return client.get(found["url"]).status_code

    assert status(a, room_file) == status(clients["bob"], room_file) == 200
    assert status(a, dm_file) == status(clients["bob"], dm_file) == 200
    assert status(a, unsent) == 200  # its uploader, before sending
    nobody = {
        "non-member": clients["carol"],
        "former member": clients["dave"],
        "deactivated": clients["erin"],
        "logged out": Client(),
    }
    missing = {"id": 0, "url": f"/files/{unsent['id'] + 100}/"}
    # The name in a URL decides nothing: another file's name, or none, gives the same answers.
    assert status(a, {"url": f"/files/{room_file['id']}/"}) == 200
    assert status(a, {"url": f"/files/{room_file['id']}/other-name.txt"}) == 200
    for who, client in nobody.items():
        for found in (room_file, dm_file, unsent, missing):
            reply = client.get(found["url"])
            assert reply.status_code == 404, (who, found)
            assert reply.json() == {"error": "There is no such file.", "code": "not_found"}
    # Third party in a DM, and a room member before the file is sent.
    assert status(clients["carol"], dm_file) == 404
    assert status(clients["bob"], unsent) == 404
    assert client_for(erin).get(room_file["url"]).status_code == 404
    # A DM whose other person was deactivated can no longer be read (as ``history``).
    User.objects.filter(pk=bob.pk).update(is_active=False)
    assert status(a, dm_file) == 404
    assert status(a, room_file) == 200


def test_thumbnail_follows_the_same_rule(store, room):
    alice, carol = user("alice", room), user("carol")
    _, found = upload(client_for(alice), png(), "red.png", room="general")
    send(room, alice, [found["id"]])
    assert client_for(alice).get(found["thumb"]).status_code == 200
    assert client_for(carol).get(found["thumb"]).status_code == 404
    assert Client().get(found["thumb"]).status_code == 404
    _, text = upload(client_for(alice), b"text", room="general")
    assert client_for(alice).get(f"/files/{text['id']}/thumb/").status_code == 404


def test_unchanged_file_is_revalidated_not_sent_again(store, room):
    client = client_for(user("alice", room))
    _, found = upload(client, b"cache me", room="general")
    first = client.get(found["url"])
    assert first["Cache-Control"] == "private, no-cache"
    again = client.get(found["url"], headers={"If-None-Match": first["ETag"]})
    assert again.status_code == 304


def test_files_in_a_dm_are_stored_with_the_pair(store):
    alice, bob = user("alice"), user("bob")
    _, found = upload(client_for(alice), b"for bob", "план #2?.txt", to="bob")
    row = Attachment.objects.get(pk=found["id"])
    assert (row.room_id, row.dm_key) == (None, dm_key(alice.pk, bob.pk))
    # The name in the URL is quoted whole: "#" and "?" do not end the path.
    assert found["url"] == (f"/files/{found['id']}/%D0%BF%D0%BB%D0%B0%D0%BD%20%232%3F.txt")
    reply = client_for(alice).get(found["url"])  # unsent: its uploader's alone
    assert reply.status_code == 200 and b"".join(reply.streaming_content) == b"for bob"
    assert "filename*=utf-8''" in reply["Content-Disposition"]


def test_a_temporary_file_left_by_a_crash_is_swept_by_a_later_upload(store, room):
    import os
    import time

    from chatserver.chat.filestore import STALE_TEMP_SECONDS

    (store / "tmp").mkdir(parents=True)
    left = store / "tmp" / "upload-crashed"
    left.write_bytes(b"half a file")
    old = time.time() - STALE_TEMP_SECONDS - 60
    os.utime(left, (old, old))
    recent = store / "tmp" / "upload-in-progress"
    recent.write_bytes(b"still arriving")  # another upload's, right now: kept
    assert upload(client_for(user("alice", room)), b"new", room="general")[0] == 201
    assert not left.exists() and recent.exists()


def test_pages_without_files_read_no_attachment_rows(store, room):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from chatserver.chat.selectors.messages import room_messages, visible_messages_since

    alice = user("alice", room)
    plain = send(room, alice, [])  # a message without files, through the same path
    Message.objects.filter(pk=plain.pk).update(body="plain")

    def attachment_queries(read) -> int:
        with CaptureQueriesContext(connection) as queries:
            read()
        return sum("chat_attachment" in q["sql"] for q in queries.captured_queries)

    page = lambda: room_messages(room_id=room.pk, before=None, limit=50)  # noqa: E731
    missed = lambda: visible_messages_since(user_id=alice.pk, since=0, limit=50)  # noqa: E731
    assert attachment_queries(page) == 0 and attachment_queries(missed) == 0
    _, found = upload(client_for(alice), b"doc", room="general")
    send(room, alice, [found["id"]])
    assert attachment_queries(page) == 1 and attachment_queries(missed) == 1
    assert [m["files"] for m in page()[0]] == [[], [found]]


def test_a_file_attached_meanwhile_by_another_worker_fails_the_batch_once_then_is_refused(
    store, room, monkeypatch
):
    """PostgreSQL with several workers: two sends carrying one file may both read it as
    unsent. The conditional UPDATE finds it taken, the batch is rolled back and redone, and
    the redo refuses the send; nothing of it is stored."""
    from chatserver.chat.protocol import ProtocolError
    from chatserver.chat.services import messages as service

    alice = user("alice", room)
    _, found = upload(client_for(alice), b"contested", room="general")
    stale = service.attachable_files([found["id"]])  # read before the other send committed
    winner = send(room, alice, [found["id"]])
    reads = []

    def first_read_is_stale(ids):
        reads.append(list(ids))
        return stale if len(reads) == 1 else service_read(ids)

    service_read = service.attachable_files
    monkeypatch.setattr(service, "attachable_files", first_read_is_stale)
    request = service.SendRequest(
        sender_id=alice.pk,
        sender_username="alice",
        body="",
        client_id="loser",
        room_name="general",
        files=(found["id"],),
    )
    (outcome,) = service.message_create_many(requests=[request])
    assert isinstance(outcome, ProtocolError) and outcome.code == "unknown_file"
    assert len(reads) == 2  # the batch ran twice
    assert list(Message.objects.values_list("client_id", flat=True)) == [winner.client_id]
    assert Attachment.objects.get(pk=found["id"]).message_id == winner.pk


def test_a_full_disk_is_a_507_in_words_and_leaves_nothing(store, room, monkeypatch):
    import errno

    from chatserver.chat.uploads import StoreUploadHandler

    write = StoreUploadHandler.receive_data_chunk

    def full(self, raw_data, start):
        if start > 0:  # the first chunk is written, then the disk fills up
            raise OSError(errno.ENOSPC, "No space left on device")
        return write(self, raw_data, start)

    monkeypatch.setattr(StoreUploadHandler, "receive_data_chunk", full)
    status, answer = upload(client_for(user("alice", room)), b"z" * 600_000, room="general")
    assert status == 507 and answer["code"] == "disk_full"
    assert answer["error"] == "The server's disk is full: the file was not stored."
    assert stored_files(store) == [] and not Attachment.objects.exists()


def test_the_files_folder_can_be_set_apart_from_the_data_folder(tmp_path):
    import os
    import subprocess
    import sys

    from tests.support.server import ROOT

    def files_dir(**extra: str) -> str:
        """FILES_DIR as a fresh process reads it (settings are read once per process)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("DESKCHAT_")}
        env.update(DESKCHAT_DATA_DIR=str(tmp_path / "d"), **extra)
        script = (
            "import os, django; os.environ['DJANGO_SETTINGS_MODULE'] = 'chatserver.settings';"
            " django.setup(); from django.conf import settings;"
            " print(settings.DESKCHAT['FILES_DIR'])"
        )
        run = subprocess.run(
            [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert run.returncode == 0, run.stderr
        return run.stdout.strip()

    assert files_dir() == str((tmp_path / "d").resolve() / "files")
    assert files_dir(DESKCHAT_FILES_DIR=str(tmp_path / "shared")) == str(tmp_path / "shared")
