"""Ending someone's access over real HTTP, as a person does: the admin's user form, the log-out
button, the password-change form."""

from __future__ import annotations

import re
import urllib.parse
import urllib.request
from html.parser import HTMLParser

from tests.support.server import Browserless


class _FormFields(HTMLParser):
    """The fields a browser would submit from the page's main form (inputs, selects)."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in {"submit", "button", "file"}:
                return
            if kind in {"checkbox", "radio"} and "checked" not in a:
                return
            self.fields.append((name, a.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in a:
            self.fields.append((self._select, a.get("value", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def deactivate(admin: Browserless, username: str) -> None:
    """Untick "Active" on ``username``'s page in the admin and save, like an administrator."""
    status, page = admin.get(f"/admin/auth/user/?q={urllib.parse.quote(username)}")
    assert status == 200, page[:300]
    found = re.search(
        r'href="/admin/auth/user/(\d+)/change/[^"]*">' + re.escape(username) + "<", page
    )
    assert found, f"{username} not in the admin's user list"
    path = f"/admin/auth/user/{found.group(1)}/change/"
    status, page = admin.get(path)
    parser = _FormFields()
    parser.feed(page)
    fields = [(k, v) for k, v in parser.fields if k != "is_active"] + [("_save", "Save")]
    data = urllib.parse.urlencode(fields).encode()
    request = urllib.request.Request(
        admin.base_url + path.lstrip("/"), data=data, headers={"Referer": admin.base_url + path}
    )
    with admin.opener.open(request, timeout=10) as reply:
        body = reply.read().decode()
        assert reply.status == 200 and "errornote" not in body, body[:2000]
        assert "/admin/auth/user/" in reply.url and "/change/" not in reply.url, reply.url


def log_out(client: Browserless) -> None:
    status, page = client.post_form("/accounts/logout/", {})
    assert status == 200, page[:300]


def change_password(client: Browserless, old: str, new: str) -> None:
    status, page = client.post_form(
        "/accounts/password/",
        {"old_password": old, "new_password1": new, "new_password2": new},
    )
    assert status == 200 and "<h1>Password changed</h1>" in page, page[:800]
