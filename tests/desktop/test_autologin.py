"""The window's password-less sign-in: one-time launch tokens exchanged for a session."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from chatserver.accounts import launch_token


def test_a_token_works_once():
    token = launch_token.issue(7)
    assert launch_token.consume(token) == 7
    assert launch_token.consume(token) is None
    assert launch_token.consume("") is None
    assert launch_token.consume("made-up") is None


def test_an_expired_token_is_refused():
    token = launch_token.issue(7, lifetime=-1)
    assert launch_token.consume(token) is None


def test_tokens_are_random_and_only_hashes_are_kept():
    tokens = {launch_token.issue(1) for _ in range(20)}
    assert len(tokens) == 20
    assert not tokens & set(launch_token._grants)
    launch_token._grants.clear()
    assert all(launch_token.consume(t) is None for t in tokens)


@pytest.mark.django_db
def test_desktop_login_view_signs_in_once():
    user = get_user_model().objects.create_user("owner", password="pw-for-tests-1")
    token = launch_token.issue(user.pk)
    client = Client()
    reply = client.get(f"/accounts/desktop-login/?token={token}")
    assert reply.status_code == 302 and reply["Location"] == "/"
    assert client.session["_auth_user_id"] == str(user.pk)
    assert "no-cache" in reply["Cache-Control"] or "max-age=0" in reply["Cache-Control"]

    replay = Client().get(f"/accounts/desktop-login/?token={token}")
    assert replay.status_code == 302 and replay["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in Client().session


@pytest.mark.django_db
def test_desktop_login_refuses_an_inactive_owner():
    user = get_user_model().objects.create_user("gone", password="pw", is_active=False)
    reply = Client().get(f"/accounts/desktop-login/?token={launch_token.issue(user.pk)}")
    assert reply["Location"].startswith("/accounts/login/")


def test_post_is_not_allowed():
    assert Client().post("/accounts/desktop-login/", {"token": "x"}).status_code == 405
