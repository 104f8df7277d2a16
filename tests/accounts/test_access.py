"""The order of a log-out (chatserver/accounts/access.py): the session is gone from the store
before its sockets are told, so a page that reacts at once is signed out where it goes."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client

from chatserver.accounts.access import access_ended


@pytest.mark.django_db(transaction=True)  # autocommit, as served: on_commit runs at once
def test_a_logged_out_session_is_gone_before_its_sockets_hear_of_it():
    get_user_model().objects.create_user(username="alice", password="pw-for-tests-1")
    client = Client()
    assert client.login(username="alice", password="pw-for-tests-1")
    key = client.session.session_key
    heard: list[tuple[str | None, bool]] = []

    def listen(sender, *, session_key=None, **kwargs) -> None:
        heard.append((session_key, SessionStore().exists(session_key)))

    access_ended.connect(listen)
    try:
        assert client.post("/accounts/logout/").status_code in (200, 302)
    finally:
        access_ended.disconnect(listen)
    assert heard == [(key, False)]
