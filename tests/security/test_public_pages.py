"""The pages issue 16 adds are public on purpose and must stay free of anything private.

The trust page and the CA download (a colleague has no account yet), the web app manifest,
its icons and the service worker (a browser fetches them without credentials). For every kind
of visitor (logged out, a member, a deactivated account, an administrator) each answers the
same bytes, holds no username, message or room, and sets no session; the CA's *key* is never
served. The service worker lists only static files.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from chatserver import pwa, tls
from chatserver.chat.models import Membership, Room

pytestmark = pytest.mark.django_db

PUBLIC = [
    "/trust/",
    "/trust/deskchat-ca.crt",
    "/manifest.webmanifest",
    "/sw.js",
    "/pwa/icon-256.png",
    "/pwa/icon-512.png",
]
SECRET_WORDS = ("alice", "carol", "admin", "secret-plans")
# The language switch's form carries a CSRF token, different for every visitor by design.
CSRF_TOKEN = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]*"')


@pytest.fixture
def ca(tmp_path, settings):
    settings.DATA_DIR = tmp_path
    tls.server_certificate(tmp_path, addresses=["10.1.2.3"], host_name="host-pc")
    yield tmp_path / "tls"
    shutil.rmtree(tmp_path / "tls", ignore_errors=True)


def visitors() -> dict[str, Client]:
    users = get_user_model().objects
    admin = users.create_superuser("admin", password="correct-horse-battery")
    alice = users.create_user("alice", password="correct-horse-battery")
    carol = users.create_user("carol", password="correct-horse-battery")
    Membership.objects.create(user=alice, room=Room.objects.create(name="secret-plans"))
    clients = {"logged out": Client()}
    for name, user in (("member", alice), ("deactivated", carol), ("admin", admin)):
        client = Client()
        client.force_login(user)
        clients[name] = client
    carol.is_active = False
    carol.save()
    return clients


def test_public_pages_answer_everyone_the_same_and_hold_nothing_private(ca):
    clients = visitors()
    for path in PUBLIC:
        answers = {}
        for who, client in clients.items():
            response = client.get(path)
            assert response.status_code == 200, (path, who, response.status_code)
            body = b"".join(response) if response.streaming else response.content
            answers[who] = CSRF_TOKEN.sub(b"", body)
            assert not response.cookies.get(settings.SESSION_COOKIE_NAME), (path, who)
            if not response.streaming and b"PRIVATE KEY" in body:
                pytest.fail(f"{path} served a private key")
        assert len(set(answers.values())) == 1, f"{path} differs by visitor"
        text = answers["logged out"].decode("utf-8", "replace").lower()
        for word in SECRET_WORDS:
            assert word not in text, (path, word)


def test_the_ca_download_is_the_certificate_and_never_the_key(ca):
    response = Client().get("/trust/deskchat-ca.crt")
    assert response.content == (ca / "ca.crt").read_bytes()
    assert response["Content-Type"] == "application/x-x509-ca-cert"
    assert "attachment" in response["Content-Disposition"]
    page = Client().get("/trust/").content.decode()
    assert tls.fingerprint((ca / "ca.crt").read_bytes()) in page
    assert f"<strong>{tls.host_name()}</strong>" in page  # this computer, as mDNS names it


def test_without_a_ca_there_is_no_trust_page(tmp_path, settings):
    settings.DATA_DIR = tmp_path  # plain HTTP, --cert, a server install
    assert Client().get("/trust/").status_code == 404
    assert Client().get("/trust/deskchat-ca.crt").status_code == 404


def test_only_the_published_icon_sizes_exist():
    assert Client().get("/pwa/icon-64.png").status_code == 404
    assert Client().get("/pwa/icon-99999.png").status_code == 404


def test_the_manifest_makes_deskchat_installable():
    manifest = json.loads(Client().get("/manifest.webmanifest").content)
    assert manifest["display"] == "standalone" and manifest["start_url"] == "/"
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"256x256", "512x512"} <= sizes


def test_the_service_worker_caches_static_files_only_and_changes_with_them(tmp_path, monkeypatch):
    script = Client().get("/sw.js")
    assert script["Cache-Control"] == "no-cache"
    shell = json.loads(re.search(r"const SHELL = (\[.*?\]);", script.content.decode()).group(1))
    assert "/static/js/app.js" in shell and "/static/offline.html" in shell
    assert all(url.startswith(settings.STATIC_URL) for url in shell), shell

    # An update (any byte of the shell) is a new worker, which the browser installs on the
    # next visit and which replaces the old cache.
    static = tmp_path / "static"
    shutil.copytree(Path(settings.PROJECT_DIR) / "ui" / "static", static)
    monkeypatch.setattr(pwa.paths, "static_dir", lambda: static)
    pwa.shell.cache_clear()
    try:
        before = pwa.shell()[1]
        pwa.shell.cache_clear()
        (static / "js" / "app.js").write_text((static / "js" / "app.js").read_text() + "\n// v2\n")
        after = pwa.shell()[1]
    finally:
        pwa.shell.cache_clear()
    assert before != after
