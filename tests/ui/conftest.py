"""Browser fixtures: Debian's Chromium through Playwright, one context per person.

Never ``playwright install``: the browser is /usr/bin/chromium (``.ci/run`` installs it).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.support.server import ROOT, LiveServer
from tests.support.tools import require_executable

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct-horse-battery"
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per test module; each person gets a fresh context.

    Not per session: Playwright's sync API keeps an event loop running on the main thread
    while it is open, and pytest-django runs tests out of folder order, so async tests
    elsewhere would find that loop and fail ("Runner.run() cannot be called from a running
    event loop").
    """
    executable = require_executable("chromium", "apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# A 2-core CI machine runs a server, several browser contexts and pytest at once.
expect.set_options(timeout=15_000)


@dataclass
class Person:
    """A signed-up user in their own browser context, with the problems their page hit."""

    name: str
    page: Page
    context: object
    problems: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    # The last frames each way on the chat socket: what a failed wait says happened.
    frames: deque[str] = field(default_factory=lambda: deque(maxlen=30))
    console: deque[str] = field(default_factory=lambda: deque(maxlen=20))

    def assert_clean(self) -> None:
        """No script errors and no CSP violations (they show as console errors)."""
        assert not self.problems, f"{self.name}'s page reported: {self.problems}"

    def join(self, room: str) -> None:
        """Join ``room`` from the sidebar, confirming "Create #room" when it is new."""
        self.page.fill("#join-input", room)
        self.page.press("#join-input", "Enter")
        try:
            self.page.wait_for_function(
                """(name) => document.querySelector("#join-error button")
                    || document.querySelector("#conv-title").textContent.trim() === name""",
                arg=room,
            )
        except PlaywrightTimeout:
            raise AssertionError(f"{self.name} could not join #{room}: {self.seen()}") from None
        create = self.page.locator("#join-error button")
        if create.count():
            expect(create).to_contain_text(f"#{room}")
            create.click()
        expect(self.page.locator("#conv-title")).to_have_text(room)
        # The answer to this request has come (it empties the box), not only an earlier one
        # for the same room: the next request then never races it.
        expect(self.page.locator("#join-input")).to_have_value("")

    def seen(self) -> str:
        """What the page shows and the socket carried lately, for a failure's message."""
        shown = self.page.evaluate(
            """() => ({state: document.querySelector("#app")?.dataset.state,
                title: document.querySelector("#conv-title")?.textContent.trim(),
                joinBox: document.querySelector("#join-input")?.value,
                joinError: document.querySelector("#join-error")?.textContent.trim()})"""
        )
        return (
            f"{self.page.url} {shown}; problems {self.problems}; console {list(self.console)}; "
            "frames:\n" + "\n".join(self.frames)
        )

    def say(self, text: str) -> None:
        """Type and press Enter; returns once the server acknowledged it (no longer pending)."""
        self.page.fill("#composer-input", text)
        self.page.press("#composer-input", "Enter")
        expect(self.page.locator("#composer-input")).to_have_value("")
        expect(self.page.locator("#message-list .msg.pending")).to_have_count(0)

    def message(self, text: str) -> Locator:
        return self.page.locator("#message-list .msg-body", has_text=text)

    def conversation_link(self, name: str) -> Locator:
        return self.page.locator(".conv-link", has=self.page.locator(".conv-name", has_text=name))

    def member(self, name: str) -> Locator:
        return self.page.locator(f'#member-list button[data-user="{name}"]')


@pytest.fixture
def people(browser, live_server: LiveServer) -> Iterator[Callable[..., Person]]:
    """``people("alice")`` signs alice up through the real sign-up page and opens the app."""
    contexts = []

    def make(
        name: str,
        *,
        locale: str = "en-US",
        viewport: dict | None = None,
        route_socket: Callable | None = None,
        color_scheme: str = "light",
    ) -> Person:
        base = live_server.url
        context = browser.new_context(
            locale=locale, viewport=viewport or DESKTOP, color_scheme=color_scheme
        )
        contexts.append(context)
        if route_socket is not None:
            context.route_web_socket("**/ws/", route_socket)
        page = context.new_page()
        person = Person(name=name, page=page, context=context)
        page.on("request", lambda request: person.requests.append(request.url))
        page.on("websocket", lambda socket: _record_frames(person, socket))
        page.on(
            "requestfailed",
            lambda request: person.console.append(f"failed: {request.url} {request.failure}"),
        )
        page.on("pageerror", lambda error: person.problems.append(f"page error: {error}"))
        page.on("console", lambda message: _note_console(person, message))
        page.on(
            "dialog",
            lambda dialog: (person.problems.append(f"dialog: {dialog.message}"), dialog.dismiss()),
        )
        page.goto(base + "accounts/signup/")
        page.fill("#id_username", name)
        page.fill("#id_password1", PASSWORD)
        page.fill("#id_password2", PASSWORD)
        page.locator("form button[type=submit]").first.click()
        # The chat, which then opens the room everyone starts in (`?room=general`).
        page.wait_for_url(lambda url: url.startswith(base) and "/accounts/" not in url)
        try:
            page.locator("#app[data-state=connected]").wait_for()
        except PlaywrightTimeout:
            raise AssertionError(f"{name}'s page never connected: {person.seen()}") from None
        return person

    yield make
    for context in contexts:
        context.close()


def _record_frames(person: Person, socket) -> None:
    person.frames.append(f"-- socket {socket.url}")
    socket.on("framesent", lambda payload: person.frames.append(f"> {str(payload)[:300]}"))
    socket.on("framereceived", lambda payload: person.frames.append(f"< {str(payload)[:300]}"))
    socket.on("close", lambda _: person.frames.append("-- closed"))


def _note_console(person: Person, message) -> None:
    person.console.append(f"{message.type}: {message.text[:200]}")
    # A socket refused while the server restarts is expected; anything else is a problem.
    if message.type == "error" and "WebSocket connection to" not in message.text:
        person.problems.append(message.text)


AXE = ROOT / "tests" / "ui" / "vendor" / "axe-core" / "axe.min.js"


def axe_violations(page: Page, *, impacts=("serious", "critical")) -> list[str]:
    """Run axe-core (vendored for tests only) on ``page``; the serious and critical findings."""
    if not page.evaluate("() => Boolean(window.axe)"):
        # Evaluated through the DevTools protocol, so the page's CSP (script-src 'self') stays on.
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ["violations"]});
            return r.violations.map((v) => ({id: v.id, impact: v.impact,
                nodes: v.nodes.map((n) => n.target.join(" ") + " :: " + n.failureSummary)}));
        }"""
    )
    return [
        f"{v['id']} ({v['impact']}): {node}"
        for v in result
        if v["impact"] in impacts
        for node in v["nodes"]
    ]


@pytest.fixture
def shoot() -> Callable[[object, str], Path]:
    """Save a screenshot under artifacts/screenshots/ (kept by CI as a test artifact)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def save(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path))
        return path

    return save
