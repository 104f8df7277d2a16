"""An installable app for browser peers: the web app manifest, its icons, the service worker.

The service worker keeps the *app shell* only: Deskchat's own static files (scripts, styles,
icons) and an offline page. It never stores a page rendered for someone, an API answer or a
message: those always come from the network (``ui/templates/pwa/sw.js`` lists what it may
cache and only answers from that list). Its version is a hash of the shell's files, so an
updated Deskchat changes the worker's bytes; the browser installs the new worker on the next
visit and it replaces the old cache at once (``skipWaiting``), so the next load runs the new
version.
"""

from __future__ import annotations

import functools
import hashlib
import json

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from chatserver import paths

ICON_SIZES = (256, 512)
# Folders under ui/static whose files make up the app shell.
SHELL_FOLDERS = ("js", "css", "img")
OFFLINE_PAGE = "offline.html"


@functools.cache
def shell() -> tuple[tuple[str, ...], str]:
    """The static URLs the worker caches, and a version that changes with any of their bytes."""
    root = paths.static_dir()
    files = sorted(
        path
        for folder in SHELL_FOLDERS
        for path in (root / folder).rglob("*")
        if path.is_file() and not path.name.startswith(".")
    )
    files.append(root / OFFLINE_PAGE)
    digest = hashlib.sha256(settings.VERSION.encode())
    urls = []
    for path in files:
        relative = path.relative_to(root).as_posix()
        digest.update(relative.encode() + b"\0" + path.read_bytes())
        urls.append(static(relative))
    return tuple(urls), digest.hexdigest()[:16]


@login_not_required
@require_GET
def manifest(request: HttpRequest) -> JsonResponse:
    icons = [
        {"src": f"/pwa/icon-{size}.png", "sizes": f"{size}x{size}", "type": "image/png"}
        for size in ICON_SIZES
    ]
    icons.append({"src": static("img/icon.svg"), "sizes": "any", "type": "image/svg+xml"})
    response = JsonResponse(
        {
            "name": "Deskchat",
            "short_name": "Deskchat",
            "description": _("The office chat on this network"),
            "id": "/",
            "start_url": "/",
            "scope": "/",
            "display": "standalone",
            "background_color": "#f3f4f6",
            "theme_color": "#2563eb",
            "icons": icons,
        }
    )
    response["Content-Type"] = "application/manifest+json"
    return response


@login_not_required
@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    urls, version = shell()
    script = render_to_string(
        "pwa/sw.js",
        {
            "version": json.dumps(version),
            "shell": json.dumps(list(urls)),
            "static_prefix": json.dumps(settings.STATIC_URL),
            "offline": json.dumps(static(OFFLINE_PAGE)),
        },
    )
    response = HttpResponse(script, content_type="text/javascript; charset=utf-8")
    # The browser must see a new version at the next visit, never a cached old worker.
    response["Cache-Control"] = "no-cache"
    return response


@login_not_required
@require_GET
def icon(request: HttpRequest, size: int) -> FileResponse:
    path = paths.app_icon(size)
    if size not in ICON_SIZES or path.suffix != ".png":
        raise Http404("no such icon")
    return FileResponse(path.open("rb"), content_type="image/png")
