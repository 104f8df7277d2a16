"""Browser-facing defences: CSRF on every form, cookie flags, and the response headers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

pytestmark = pytest.mark.django_db

TEMPLATES = Path(settings.PROJECT_DIR) / "ui" / "templates"
PASSWORD = "correct-horse-battery"
POST_FORM = re.compile(r"<form\b[^>]*method=\"post\"[^>]*>(.*?)</form>", re.S | re.I)


@pytest.fixture
def user():
    return get_user_model().objects.create_user("alice", password=PASSWORD)


def test_every_post_form_in_the_templates_carries_a_csrf_token():
    forms = []
    for template in TEMPLATES.rglob("*.html"):
        for body in POST_FORM.findall(template.read_text(encoding="utf-8")):
            forms.append(template.name)
            assert "{% csrf_token %}" in body, f"a POST form in {template} has no CSRF token"
    assert len(forms) >= 4  # log-in, sign-up, log-out, password change at least


@pytest.mark.parametrize(
    ("path", "logged_in"),
    [
        ("/accounts/login/", False),
        ("/accounts/signup/", False),
        ("/accounts/logout/", True),
        ("/accounts/password/", True),
        ("/i18n/setlang/", False),
    ],
)
def test_a_post_without_the_csrf_token_is_refused(user, path, logged_in):
    client = Client(enforce_csrf_checks=True)
    if logged_in:
        client.force_login(user)
    reply = client.post(path, {"username": "alice", "password": PASSWORD, "language": "en"})
    assert reply.status_code == 403


def test_a_post_from_another_origin_is_refused_even_with_a_valid_token(user):
    client = Client(enforce_csrf_checks=True)
    client.get("/accounts/login/")
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    fields = {"username": "alice", "password": PASSWORD, "csrfmiddlewaretoken": token}
    evil = client.post("/accounts/login/", fields, HTTP_ORIGIN="http://evil.example")
    assert evil.status_code == 403
    same = client.post("/accounts/login/", fields, HTTP_ORIGIN="http://testserver")
    assert same.status_code == 302


def test_session_and_csrf_cookies_are_httponly_and_samesite_lax(user):
    client = Client()
    client.get("/accounts/login/")
    csrf = client.cookies[settings.CSRF_COOKIE_NAME]
    assert csrf["samesite"] == "Lax"
    reply = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert reply.status_code == 302
    session = reply.cookies[settings.SESSION_COOKIE_NAME]
    assert session["httponly"] is True
    assert session["samesite"] == "Lax"
    assert session["path"] == "/"


@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/accounts/signup/", "/chat/"])
def test_pages_send_the_hardening_headers(user, path):
    client = Client()
    client.force_login(user)
    reply = client.get(path, follow=True)
    assert reply.status_code == 200
    assert reply["X-Frame-Options"] == "DENY"
    assert reply["Referrer-Policy"] == "same-origin"
    assert reply["X-Content-Type-Options"] == "nosniff"
    policy = {}
    for part in reply["Content-Security-Policy"].split(";"):
        name, _, value = part.strip().partition(" ")
        policy[name] = value
    scripts = policy.get("script-src", policy.get("default-src", ""))
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts
    assert "*" not in scripts.split()
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'"


@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/accounts/signup/"])
def test_pages_need_no_inline_script_the_policy_would_block(user, path):
    """The CSP forbids inline script; a page relying on one would silently break."""
    client = Client()
    if path == "/":
        client.force_login(user)
    page = client.get(path).content.decode()
    for tag in re.findall(r"<script\b[^>]*>", page, re.I):
        assert "src=" in tag, f"inline <script> on {path}: {tag}"
    handler = re.search(r"<[^>]+\son[a-z]+\s*=", page, re.I)
    assert handler is None, f"inline event handler on {path}: {handler.group(0)}"
    assert "javascript:" not in page.lower()


def test_healthz_says_nothing_secret():
    reply = Client().get("/healthz")
    assert reply.status_code == 200
    assert set(reply.json()) <= {"status", "version"}
