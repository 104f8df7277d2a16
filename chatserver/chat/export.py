"""A conversation as a file: JSON for programs, one self-contained HTML page for people.

Both are written a piece at a time (``head``, each chunk of messages, ``tail``), so the web
view can stream them and ``deskchat manage export`` can write them, neither holding a whole
room in memory. The HTML page works offline and alone: no scripts, no external anything, its
one style block allowed by hash in its own Content-Security-Policy, every piece of user text
escaped (message bodies, names, file names), links only to http(s) or this server's paths.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Iterator
from datetime import datetime

from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from chatserver.chat import frames
from chatserver.chat.selectors.export import Conversation

FORMAT_VERSION = 1

STYLE = """
:root { color-scheme: light dark; --muted: #667; --line: #dde; --accent: #2f6fdf; }
body { font: 15px/1.45 system-ui, sans-serif; max-width: 50rem; margin: 0 auto; padding: 1.5rem; }
header { border-bottom: 1px solid var(--line); margin-bottom: 1rem; }
h1 { font-size: 1.4rem; margin: 0 0 .25rem; }
.meta, time, .size { color: var(--muted); font-size: .85rem; }
h2 { font-size: .9rem; color: var(--muted); text-align: center; margin: 1.5rem 0 .5rem; }
ol { list-style: none; margin: 0; padding: 0; }
li.msg { padding: .35rem 0; border-bottom: 1px solid var(--line); }
.author { font-weight: 600; margin-right: .5rem; }
.body { white-space: pre-wrap; overflow-wrap: anywhere; margin-top: .1rem; }
ul.files { margin: .3rem 0 0; padding-left: 1.2rem; }
a { color: var(--accent); }
footer { margin-top: 1.5rem; color: var(--muted); font-size: .85rem; }
@media (prefers-color-scheme: dark) { :root { --muted: #99a; --line: #334; --accent: #8ab4ff; } }
"""
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
# Nothing may load or run; the style block above is allowed by its hash alone.
CSP = f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; base-uri 'none'; form-action 'none'"


class Export:
    """One export being written: ``head()``, ``messages(chunk)`` for each chunk, ``tail()``."""

    extension = ""
    content_type = ""

    def __init__(
        self,
        conversation: Conversation,
        *,
        exported_by: str | None,
        exported_at: datetime,
        base_url: str = "",
    ) -> None:
        self.conversation = conversation
        self.exported_by = exported_by
        self.exported_at = exported_at
        self.base_url = base_url.rstrip("/")
        self.count = 0

    def head(self) -> str:
        raise NotImplementedError

    def messages(self, chunk: list[frames.Frame]) -> str:
        raise NotImplementedError

    def tail(self) -> str:
        raise NotImplementedError

    def link(self, url: str) -> str | None:
        """An absolute link for a file's ``url`` (a path on this server), or None if it is
        neither a path nor http(s)."""
        if url.startswith("/") and not url.startswith("//"):
            return f"{self.base_url}{url}"
        return url if url.startswith(("http://", "https://")) else None

    def render(self, chunks: Iterable[list[frames.Frame]]) -> Iterator[str]:
        yield self.head()
        for chunk in chunks:
            yield self.messages(chunk)
        yield self.tail()


class JsonExport(Export):
    """``{"format": "deskchat-export", "version": 1, "conversation": ..., "messages": [...]}``:
    the messages are the protocol's message objects, oldest first; each file's ``url``
    is made absolute when the export knows the server's address."""

    extension = "json"
    content_type = "application/json"

    def head(self) -> str:
        header = {
            "format": "deskchat-export",
            "version": FORMAT_VERSION,
            "conversation": self.conversation.descriptor(),
            "exported_by": self.exported_by,
            "exported_at": _iso(self.exported_at),
        }
        return frames.encode(header)[:-1] + ',"messages":['

    def messages(self, chunk: list[frames.Frame]) -> str:
        parts = []
        for message in chunk:
            if message.get("files"):
                message = {**message, "files": [self._absolute(f) for f in message["files"]]}
            parts.append(("," if self.count else "") + "\n" + frames.encode(message))
            self.count += 1
        return "".join(parts)

    def _absolute(self, file: dict) -> dict:
        absolute = {**file}
        for key in ("url", "thumb"):
            if isinstance(file.get(key), str):
                absolute[key] = self.link(file[key]) or file[key]
        return absolute

    def tail(self) -> str:
        return "\n]}\n"


class HtmlExport(Export):
    extension = "html"
    content_type = "text/html; charset=utf-8"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._day: str | None = None

    def head(self) -> str:
        title = self.conversation.title
        if self.exported_by:
            exported = _("Exported by %(user)s on %(date)s") % {
                "user": self.exported_by,
                "date": _readable(self.exported_at),
            }
        else:
            exported = _("Exported on %(date)s") % {"date": _readable(self.exported_at)}
        return format_html(
            '<!DOCTYPE html>\n<html lang="{}"><head><meta charset="utf-8">'
            '<meta http-equiv="Content-Security-Policy" content="{}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<meta name="referrer" content="no-referrer">'
            "<title>{} · Deskchat</title><style>{}</style></head><body>"
            '<header><h1 dir="auto">{}</h1><p class="meta">{}</p></header><main><ol>',
            get_language() or "en",
            CSP,
            title,
            # The style is ours and fixed; its hash is in the policy above.
            _trusted(STYLE),
            title,
            exported,
        )

    def messages(self, chunk: list[frames.Frame]) -> str:
        parts = []
        for message in chunk:
            ts = message["ts"]
            day = ts[:10]
            if day != self._day:
                if self._day is not None:
                    parts.append("</ol>")
                parts.append(format_html("<h2>{}</h2><ol>", day))
                self._day = day
            parts.append(
                format_html(
                    '<li class="msg" id="m{}"><span class="author" dir="auto">{}</span>'
                    '<time datetime="{}">{} UTC</time><div class="body" dir="auto">{}</div>',
                    message["id"],
                    message["user"],
                    ts,
                    ts[11:16],
                    message["body"],
                )
            )
            files = message.get("files") or []
            if files:
                parts.append('<ul class="files">')
                parts.extend(self._file(file) for file in files)
                parts.append("</ul>")
            parts.append("</li>")
            self.count += 1
        return "".join(parts)

    def _file(self, file: dict) -> str:
        name = str(file.get("name", ""))
        size = file.get("size")
        size_text = _size(size) if isinstance(size, int) else ""
        link = self.link(str(file.get("url", "")))
        if link is None:
            return format_html(
                '<li dir="auto">{} <span class="size">{}</span></li>', name, size_text
            )
        return format_html(
            '<li><a href="{}" dir="auto" rel="noreferrer">{}</a> <span class="size">{}</span></li>',
            link,
            name,
            size_text,
        )

    def tail(self) -> str:
        count = ngettext("%(n)d message", "%(n)d messages", self.count) % {"n": self.count}
        return format_html("</ol></main><footer>{}</footer></body></html>\n", count)


def export_filename(conversation: Conversation, moment: datetime, extension: str) -> str:
    """``deskchat-general-2026-12-06.html``: the name as people wrote it, minus what a file
    system would refuse."""
    label = (
        conversation.room if conversation.room is not None else "-".join(conversation.people or ())
    )
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in label).strip("-.") or "chat"
    return f"deskchat-{safe}-{moment:%Y-%m-%d}.{extension}"


def _trusted(text: str) -> str:
    return mark_safe(text)  # our own constant, never user text


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _readable(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


EXPORTS: dict[str, type[Export]] = {"json": JsonExport, "html": HtmlExport}
