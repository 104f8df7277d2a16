"""The desktop's own account and the host's sign-up choice, without a window or a server."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model

from chatserver.accounts import launch_token
from desktop import prefs
from desktop.host import Host, LaunchOptions

PASSWORD = "correct-horse-battery"


@pytest.fixture
def host(tmp_path):
    host = Host(LaunchOptions(data_dir=tmp_path))
    host.data_dir = tmp_path
    host.url = "http://127.0.0.1:1/"
    return host


@pytest.fixture
def restore_signup():
    saved = dict(settings.DESKCHAT)
    yield
    settings.DESKCHAT.clear()
    settings.DESKCHAT.update(saved)


@pytest.mark.django_db
def test_first_account_becomes_the_admin_owner(host, tmp_path):
    assert host.account.owner() is None and not host.account.has_accounts()
    assert host.account.create_owner("alice", PASSWORD, "different") != {}
    assert host.account.create_owner("alice", PASSWORD, PASSWORD) == {}
    alice = host.account.owner()
    assert alice.username == "alice" and alice.is_superuser and alice.is_staff
    assert prefs.load(tmp_path).owner_id == alice.pk  # remembered for the next launch

    url = host.account.login_url()
    assert url.startswith("http://127.0.0.1:1/accounts/desktop-login/?token=")
    assert launch_token.consume(url.split("token=", 1)[1]) == alice.pk


@pytest.mark.django_db
def test_existing_account_is_adopted_only_with_its_password(host):
    get_user_model().objects.create_user("bob", password=PASSWORD)
    assert host.account.has_accounts() and host.account.owner() is None
    with pytest.raises(LookupError):
        host.account.login_url()
    assert "__all__" in host.account.adopt_owner("bob", "wrong password")
    assert host.account.owner() is None
    assert host.account.adopt_owner("bob", PASSWORD) == {}
    assert host.account.owner().username == "bob"


@pytest.mark.django_db
def test_signup_policy_applies_at_once_and_is_saved(host, tmp_path, restore_signup):
    old_code = host.prefs.invite_code
    status = host.sharing.set_signup("invite", new_code=True)
    assert status["signup"] == "invite" and status["invite_code"] != old_code
    assert settings.DESKCHAT["SIGNUP"] == "invite"
    assert settings.DESKCHAT["INVITE_CODE"] == status["invite_code"]
    assert prefs.load(tmp_path).signup == "invite"
    host.sharing.set_signup("off")
    assert settings.DESKCHAT["SIGNUP"] == "off"
    with pytest.raises(ValueError):
        host.sharing.set_signup("everyone")


def test_sharing_status_when_not_sharing(host):
    status = host.sharing.sharing_status()
    assert status["sharing"] is False and status["join"] == []
    assert status["port"] == 8765
