"""Cookies set over HTTPS are ``Secure``; over the host's loopback HTTP they cannot be
(the window would not be signed in), so the flag follows the request
(``chatserver.security.SecureCookiesOnHttpsMiddleware``)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"


@pytest.mark.parametrize("secure", [True, False])
def test_session_and_csrf_cookies_are_secure_exactly_on_https(secure):
    get_user_model().objects.create_user("alice", password=PASSWORD)
    client = Client(enforce_csrf_checks=False)
    page = client.get("/accounts/login/", secure=secure)
    assert bool(page.cookies[settings.CSRF_COOKIE_NAME]["secure"]) is secure
    logged_in = client.post(
        "/accounts/login/", {"username": "alice", "password": PASSWORD}, secure=secure
    )
    assert logged_in.status_code == 302
    assert bool(logged_in.cookies[settings.SESSION_COOKIE_NAME]["secure"]) is secure
    assert logged_in.cookies[settings.SESSION_COOKIE_NAME]["httponly"] is True
