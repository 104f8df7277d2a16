"""AccountBackend: ModelBackend's answers, the user read in one plain query."""

from __future__ import annotations

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, authenticate, get_user_model
from django.contrib.auth.backends import ModelBackend
from django.test import Client

from chatserver.accounts.backends import ACCOUNT_BACKEND, AccountBackend
from chatserver.realtime.socket_auth import user_for_session

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-pass-77"


def make_user(username: str = "alice", **extra):
    return get_user_model().objects.create_user(username=username, password=PASSWORD, **extra)


def test_get_user_gives_the_same_user_as_model_backend():
    user = make_user(first_name="Алиса", email="a@example.org", is_staff=True)
    user.last_login = user.date_joined
    user.save()
    ours, django = AccountBackend().get_user(str(user.pk)), ModelBackend().get_user(user.pk)
    fields = [field.attname for field in get_user_model()._meta.concrete_fields]
    assert {f: getattr(ours, f) for f in fields} == {f: getattr(django, f) for f in fields}
    assert ours.last_login.tzinfo is not None and ours.date_joined.tzinfo is not None
    assert ours._state.adding is False and ours._state.db == "default"


def test_get_user_refuses_inactive_unknown_and_malformed_ids():
    inactive = make_user("bob", is_active=False)
    backend = AccountBackend()
    assert backend.get_user(inactive.pk) is None
    assert backend.get_user(999_999) is None
    assert backend.get_user("not-a-number") is None


def test_wrong_password_is_hashed_once_and_refused(monkeypatch):
    user = make_user()
    checks = []
    real_check = type(user).check_password

    def counting_check(self, raw: str) -> bool:
        checks.append(raw)
        return real_check(self, raw)

    monkeypatch.setattr(type(user), "check_password", counting_check)
    assert authenticate(username="alice", password="wrong-password-1") is None
    assert len(checks) == 1, "ModelBackend, listed after AccountBackend, must not check again"
    assert authenticate(username="alice", password=PASSWORD) == user


def test_log_in_records_account_backend_and_old_sessions_stay_signed_in():
    user = make_user()
    client = Client()
    answer = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert answer.status_code == 302
    assert client.session[BACKEND_SESSION_KEY] == ACCOUNT_BACKEND
    assert user_for_session(client.session.session_key) == user
    # A session signed in before AccountBackend existed names ModelBackend.
    old = Client()
    old.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    assert user_for_session(old.session.session_key) == user
    assert old.get("/").status_code == 200  # the chat page, not a redirect to log in


def test_sessions_load_as_django_loads_them():
    from datetime import timedelta

    from django.contrib.sessions.backends.db import SessionStore as StockStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from chatserver.accounts.sessions import SessionStore

    stored = StockStore()
    stored["answer"] = {"n": 42, "name": "Алиса"}
    stored.save()
    expired = StockStore()
    expired["old"] = True
    expired.save()
    Session.objects.filter(session_key=expired.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    for key in (stored.session_key, expired.session_key, "x" * 32, None):
        ours, django = SessionStore(key), StockStore(key)
        assert ours.load() == django.load()
        # An unknown or expired key is dropped, so a later save cannot reuse it.
        assert ours.session_key == django.session_key
    assert SessionStore(stored.session_key).load() == {"answer": {"n": 42, "name": "Алиса"}}
