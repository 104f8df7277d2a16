"""Files in a real browser: paste a screenshot, watch its progress, see it arrive elsewhere."""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.ui.conftest import PHONE, axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.process]

# Chromium's own network throttling (DevTools), so the upload lasts long enough to watch.
SLOW_UPLOAD_BYTES_PER_SECOND = 1_000_000

PASTE = """([name, type, data]) => {
    const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([bytes], name, { type }));
    const input = document.querySelector("#composer-input");
    input.focus();
    const init = { clipboardData: transfer, bubbles: true, cancelable: true };
    input.dispatchEvent(new ClipboardEvent("paste", init));
}"""

# Every value the upload's progress bar shows, recorded by the page as it changes.
WATCH_PROGRESS = """() => {
    window.progressSeen = [];
    new MutationObserver(() => {
        for (const bar of document.querySelectorAll("#upload-list progress")) {
            window.progressSeen.push(Number(bar.value));
        }
    }).observe(document.querySelector("#upload-list"),
               { subtree: true, childList: true, attributes: true, characterData: true });
}"""


def noisy_png(width: int, height: int) -> bytes:
    """A picture PNG cannot squeeze: a few megabytes, so the upload takes a while."""
    image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def paste(person, name: str, content: bytes, type_: str = "image/png") -> None:
    person.page.evaluate(PASTE, [name, type_, base64.b64encode(content).decode()])


def slow_uploads(person) -> None:
    cdp = person.context.new_cdp_session(person.page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 0,
            "downloadThroughput": -1,
            "uploadThroughput": SLOW_UPLOAD_BYTES_PER_SECOND,
        },
    )


def test_a_pasted_screenshot_uploads_with_progress_and_reaches_the_other_person(people, shoot):
    alice, bob = people("alice"), people("bob")
    alice.join("general")
    bob.join("general")
    picture = noisy_png(1200, 800)
    assert len(picture) > 2_000_000
    slow_uploads(alice)
    alice.page.evaluate(WATCH_PROGRESS)
    paste(alice, "screenshot.png", picture)
    row = alice.page.locator("#upload-list .upload")
    expect(row).to_contain_text("screenshot.png")
    alice.page.wait_for_function("() => window.progressSeen.some((v) => v > 0 && v < 100)")
    shoot(alice.page, "files-upload-progress")
    # Done: the row goes, and the picture arrives at bob as a thumbnail he can open.
    expect(row).to_have_count(0, timeout=60_000)
    thumb = bob.page.locator("#message-list .msg-image img")
    expect(thumb).to_be_visible()
    expect(thumb).to_have_attribute("alt", "screenshot.png")
    bob.page.wait_for_function(
        "() => document.querySelector('#message-list .msg-image img').naturalWidth === 320"
    )
    expect(alice.page.locator("#message-list .msg-image img")).to_be_visible()
    shoot(bob.page, "files-thumbnail-arrived")
    thumb.click()
    viewer = bob.page.locator("#image-viewer")
    expect(viewer).to_be_visible()
    expect(viewer.locator("h2")).to_have_text("screenshot.png")
    bob.page.wait_for_function(
        "() => document.querySelector('#image-viewer-img').naturalWidth === 1200"
    )
    shoot(bob.page, "files-full-size")
    bob.page.keyboard.press("Escape")
    expect(viewer).to_be_hidden()
    seen = alice.page.evaluate("() => window.progressSeen")
    assert any(0 < value < 100 for value in seen), seen
    alice.assert_clean()
    bob.assert_clean()


def test_an_upload_can_be_cancelled_and_refusals_are_in_words(people, live_server, shoot):
    alice, bob = people("alice"), people("bob")
    alice.join("general")
    bob.join("general")
    slow_uploads(alice)
    paste(alice, "big.png", noisy_png(1200, 800))
    row = alice.page.locator("#upload-list .upload")
    alice.page.wait_for_function(
        "() => Number(document.querySelector('#upload-list progress')?.value) > 0"
    )
    row.get_by_role("button", name="Cancel").click()
    expect(row).to_have_count(0)
    paste(alice, "empty.txt", b"", "text/plain")
    expect(row.locator(".upload-status")).to_have_text("The file is empty.")
    shoot(alice.page, "files-refused")
    row.get_by_role("button", name="Dismiss").click()
    expect(row).to_have_count(0)
    # A document goes through as a download link; bob sees it after the cancelled one would
    # have arrived, and nothing of the cancelled upload.
    paste(alice, "<img src=x onerror=alert(1)> q3.pdf", b"%PDF-1.4 not much", "application/pdf")
    link = bob.page.locator("#message-list .file-link")
    expect(link).to_contain_text("<img src=x onerror=alert(1)> q3.pdf")  # as text, never as markup
    expect(bob.page.locator("#message-list .msg-image")).to_have_count(0)
    assert link.get_attribute("download") == "<img src=x onerror=alert(1)> q3.pdf"
    stored = [p for p in (live_server.data_dir / "files").rglob("*") if p.is_file()]
    assert len(stored) == 1, stored  # the document only: the cancelled upload left nothing
    alice.assert_clean()
    bob.assert_clean()


def test_files_ui_in_russian_on_a_phone_in_the_dark(people, shoot):
    alice = people("alice", locale="ru-RU", viewport=PHONE, color_scheme="dark")
    alice.join("general")
    expect(alice.page.locator("#attach-button")).to_have_attribute("aria-label", "Прикрепить файлы")
    paste(alice, "пусто.txt", b"", "text/plain")
    expect(alice.page.locator("#upload-list .upload-status")).to_have_text("Файл пустой.")
    expect(alice.page.locator("#upload-list .file-size")).to_have_text("0 Б")
    paste(alice, "снимок.png", noisy_png(600, 400))
    image = alice.page.locator("#message-list .msg-image img")
    expect(image).to_have_attribute("alt", "снимок.png")
    alice.page.wait_for_function(
        "() => document.querySelector('#message-list .msg-image img').naturalWidth === 320"
    )
    shoot(alice.page, "files-phone-ru-dark")
    assert axe_violations(alice.page) == []
    image.click()
    expect(alice.page.locator("#image-viewer")).to_be_visible()
    expect(alice.page.get_by_role("link", name="Скачать")).to_be_visible()
    assert axe_violations(alice.page) == []
    alice.assert_clean()


DROP = """([name, type, data]) => {
    const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([bytes], name, { type }));
    const pane = document.querySelector("#conversation");
    const init = { dataTransfer: transfer, bubbles: true, cancelable: true };
    pane.dispatchEvent(new DragEvent("dragover", init));
    pane.dispatchEvent(new DragEvent("drop", init));
}"""


def test_dropped_and_picked_files_arrive_as_download_links(people, shoot):
    alice, bob = people("alice"), people("bob")
    alice.join("general")
    bob.join("general")
    alice.page.evaluate(DROP, ["notes.txt", "text/plain", base64.b64encode(b"dropped").decode()])
    links = bob.page.locator("#message-list .file-link")
    expect(links.first).to_contain_text("notes.txt")
    alice.page.locator("#file-picker").set_input_files(
        files=[{"name": "budget.csv", "mimeType": "text/csv", "buffer": b"a,b\n1,2\n"}]
    )
    expect(links).to_have_count(2)
    expect(links.nth(1)).to_contain_text("budget.csv")
    expect(links.nth(1)).to_contain_text("8 B")
    shoot(bob.page, "files-links")
    with bob.page.expect_download() as download:
        links.nth(1).click()
    assert download.value.suggested_filename == "budget.csv"
    assert Path(download.value.path()).read_bytes() == b"a,b\n1,2\n"
    alice.assert_clean()
    bob.assert_clean()
