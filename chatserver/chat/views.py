"""HTTP views: the app shell, the tutorial's room pages, and the health check."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from chatserver.chat import health
from chatserver.chat.protocol import ProtocolError
from chatserver.chat.selectors.presence import online_counts
from chatserver.chat.selectors.rooms import all_rooms, room_by_name, room_renamed_from
from chatserver.chat.services.rooms import room_get_or_create


@require_GET
def app(request: HttpRequest) -> HttpResponse:
    """The one-page chat; ``?room=`` or ``?dm=`` open a conversation on load."""
    return render(request, "chat/app.html", {"ws_path": "/ws/"})


@require_GET
def room_list(request: HttpRequest) -> HttpResponse:
    """Every room with how many people are online in it (the room browser)."""
    online = online_counts()
    rooms = [{"name": room.name, "online": online.get(room.pk, 0)} for room in all_rooms()]
    return render(request, "chat/rooms.html", {"rooms": rooms})


@require_GET
def room_page(request: HttpRequest, name: str) -> HttpResponse:
    """The tutorial's ``/chat/<name>/``: opens (and creates) the room in the app. A name a
    room had before it was renamed leads to the room under its name now."""
    if room_by_name(name) is None:
        moved = room_renamed_from(name)
        if moved is not None:
            return redirect("chat:room", name=moved.name)
    try:
        room = room_get_or_create(name=name, user_id=request.user.pk)
    except ProtocolError as error:
        return render(request, "errors/error.html", {"title": error.detail}, status=400)
    return render(request, "chat/app.html", {"ws_path": "/ws/", "open_room": room.name})


@login_not_required
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 while the server can serve; 503 once it found its database damaged."""
    damage = health.damaged()
    if damage is not None:
        return JsonResponse(
            {"status": "damaged", "detail": damage.detail, "version": settings.VERSION},
            status=503,
        )
    return JsonResponse({"status": "ok", "version": settings.VERSION})
