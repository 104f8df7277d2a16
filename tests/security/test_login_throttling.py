"""Guessing passwords: failures per username and per address are slowed, then refused."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client

from chatserver.accounts import throttling

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"
LIMIT = settings.DESKCHAT["LOGIN_FAILURE_LIMIT"]
LOCKOUT = settings.DESKCHAT["LOGIN_LOCKOUT_SECONDS"]


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    cache.clear()
    clock = Clock()
    monkeypatch.setattr(throttling.time, "time", clock)
    yield clock
    cache.clear()


@pytest.fixture
def user():
    return get_user_model().objects.create_user("alice", password=PASSWORD)


def attempt(username: str, password: str, address: str = "10.0.0.5"):
    return Client(REMOTE_ADDR=address).post(
        "/accounts/login/", {"username": username, "password": password}
    )


def test_failures_for_one_username_slow_down_then_lock_out(user, clock):
    for _ in range(throttling.SOFT):
        assert attempt("alice", "wrong").status_code == 200  # the form, with its error
    slowed = attempt("alice", "wrong")
    assert slowed.status_code == 429
    assert int(slowed["Retry-After"]) >= 1
    assert "Too many failed log-ins" in slowed.content.decode()
    # While slowed, even the right password waits: guessing gains nothing by hurrying.
    assert attempt("alice", PASSWORD).status_code == 429

    failures = throttling.SOFT
    while failures < LIMIT:
        clock.now += 2 ** (failures - throttling.SOFT + 1) + 1  # wait out the delay
        attempt("alice", "wrong")
        failures += 1
    locked = attempt("alice", PASSWORD)
    assert locked.status_code == 429
    assert LOCKOUT - 1 <= int(locked["Retry-After"]) <= LOCKOUT + 1
    # Another address does not help: the lock is on the username.
    assert attempt("alice", PASSWORD, address="10.0.0.99").status_code == 429

    clock.now += LOCKOUT + 1
    assert attempt("alice", PASSWORD).status_code == 302  # logged in


def test_success_clears_the_username_count(user, clock):
    for _ in range(throttling.SOFT - 1):
        attempt("alice", "wrong")
    assert attempt("alice", PASSWORD).status_code == 302
    for _ in range(throttling.SOFT - 1):
        assert attempt("alice", "wrong").status_code == 200


def test_one_address_trying_many_usernames_is_refused(user, clock):
    """Spraying one password over many accounts from one machine is caught by its address."""
    refused_at = None
    for i in range(LIMIT * 3 + 3):
        reply = attempt(f"user{i}", "Password1")
        if reply.status_code == 429:
            refused_at = i
            break
        clock.now += 1
    assert refused_at is not None
    # Allows more than one username's worth: several people may share an address (NAT).
    assert refused_at > LIMIT
    # A colleague at another address is unaffected.
    assert attempt("alice", PASSWORD, address="10.0.0.7").status_code == 302


def test_throttled_answers_do_not_reveal_whether_the_account_exists(user, clock):
    for name in ("alice", "nobody"):
        for _ in range(throttling.SOFT):
            attempt(name, "wrong", address=f"10.1.0.{len(name)}")
        reply = attempt(name, "wrong", address=f"10.1.0.{len(name)}")
        assert reply.status_code == 429
