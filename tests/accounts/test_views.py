"""Accounts over HTTP: sign-up (first is admin), log-in, log-out, password, who sees what."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-pass-77"


def signup(client: Client, username: str, **extra) -> object:
    return client.post(
        "/accounts/signup/",
        {"username": username, "password1": PASSWORD, "password2": PASSWORD, **extra},
    )


def test_first_account_becomes_administrator_later_ones_do_not():
    assert signup(Client(), "boss").status_code == 302
    assert signup(Client(), "worker").status_code == 302
    users = {u.username: u for u in get_user_model().objects.all()}
    assert users["boss"].is_staff and users["boss"].is_superuser
    assert not users["worker"].is_staff and not users["worker"].is_superuser


@pytest.mark.parametrize("username", ["Иван.Петров", "a.b@c+d-e", "用户"])
def test_usernames_may_be_unicode_or_contain_django_punctuation(username):
    client = Client()
    assert signup(client, username).status_code == 302
    assert client.get("/").status_code == 200


def test_anonymous_visitors_see_only_login_and_signup():
    get_user_model().objects.create_user("someone")  # not a fresh install (that leads to sign-up)
    client = Client()
    for path in ["/", "/chat/", "/chat/general/", "/accounts/password/"]:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/accounts/login/"), path
    assert client.get("/accounts/login/").status_code == 200
    assert client.get("/accounts/signup/").status_code == 200
    assert client.get("/healthz").json()["status"] == "ok"


def test_admin_is_for_staff_only():
    boss, worker = Client(), Client()
    signup(boss, "boss")
    signup(worker, "worker")
    assert boss.get("/admin/").status_code == 200
    response = worker.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_login_and_logout_round_trip():
    signup(Client(), "alice")
    client = Client()
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert client.get("/accounts/logout/").status_code == 200  # a confirm page, not a log-out
    assert client.get("/").status_code == 200
    client.post("/accounts/logout/")
    assert client.get("/").status_code == 302


def test_wrong_password_says_so_without_saying_which_part():
    signup(Client(), "alice")
    response = Client().post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert b"correct username and password" in response.content


def test_password_change():
    client = Client()
    signup(client, "alice")
    response = client.post(
        "/accounts/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "another-long-pass-88",
            "new_password2": "another-long-pass-88",
        },
    )
    assert response.status_code == 302
    fresh = Client()
    assert (
        fresh.post(
            "/accounts/login/", {"username": "alice", "password": "another-long-pass-88"}
        ).status_code
        == 302
    )


def test_signup_can_be_closed_or_need_an_invite_once_someone_exists():
    signup(Client(), "boss")
    with override_settings(DESKCHAT={**_limits(), "SIGNUP": "off"}):
        assert Client().get("/accounts/signup/").status_code == 403
        assert signup(Client(), "stranger").status_code == 403
    with override_settings(DESKCHAT={**_limits(), "SIGNUP": "invite", "INVITE_CODE": "s3cret"}):
        assert signup(Client(), "guest", invite_code="wrong").status_code == 200
        assert signup(Client(), "guest", invite_code="s3cret").status_code == 302
    assert get_user_model().objects.filter(username="stranger").count() == 0


def test_a_fresh_install_is_always_open_so_someone_can_become_admin():
    with override_settings(DESKCHAT={**_limits(), "SIGNUP": "off"}):
        assert signup(Client(), "boss").status_code == 302


def _limits() -> dict:
    from django.conf import settings

    return dict(settings.DESKCHAT)


def test_tutorial_room_pages_keep_working():
    client = Client()
    signup(client, "alice")
    assert client.get("/chat/Отдел продаж/").status_code == 200
    assert client.get("/chat/R&D/").status_code == 200
    page = client.get("/chat/").content.decode()
    assert "Отдел продаж" in page and "R&amp;D" in page


def test_invalid_room_name_in_url_is_a_clear_400():
    client = Client()
    signup(client, "alice")
    response = client.get("/chat/" + "x" * 65 + "/")
    assert response.status_code == 400
    assert b"Room names are" in response.content


def test_unknown_url_gets_the_friendly_404_page():
    client = Client()
    signup(client, "alice")
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert b"Traceback" not in response.content


def test_a_fresh_install_leads_to_creating_the_first_account():
    client = Client()
    first = client.get("/", follow=True)
    assert first.redirect_chain[-1][0].startswith("/accounts/signup/")
    assert "Create the first account" in first.content.decode()
    assert signup(Client(), "boss").status_code == 302
    # Once someone exists, log-in is the page again.
    assert Client().get("/accounts/login/").status_code == 200


def test_everyone_who_signs_up_is_in_general():
    from chatserver.chat.models import Membership

    assert signup(Client(), "boss").status_code == 302
    assert signup(Client(), "worker").status_code == 302
    assert set(Membership.objects.values_list("user__username", "room__name")) == {
        ("boss", "general"),
        ("worker", "general"),
    }
