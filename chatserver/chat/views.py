"""HTTP views: the app shell, the tutorial's room pages, exports and the health check."""

from __future__ import annotations

from collections.abc import AsyncIterator

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from chatserver.chat import health
from chatserver.chat.export import EXPORTS, Export, export_filename
from chatserver.chat.protocol import ProtocolError
from chatserver.chat.selectors.export import next_chunk, readable_conversation
from chatserver.chat.selectors.presence import online_counts
from chatserver.chat.selectors.rooms import all_rooms, room_by_name, room_renamed_from
from chatserver.chat.services.rooms import room_get_or_create
from chatserver.errors import bad_request


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


@require_GET
def export(request: HttpRequest) -> HttpResponseBase:
    """``/export/?room=NAME`` or ``?with=USER``, ``&format=json|html``: one conversation the
    user may read now, as a download. Anything else is the same 404, so the address tells
    nobody which rooms, people or DMs exist."""
    kind = EXPORTS.get(request.GET.get("format", ""))
    if kind is None:
        return bad_request(request)
    conversation = readable_conversation(
        user_id=request.user.pk, room=request.GET.get("room"), with_user=request.GET.get("with")
    )
    if conversation is None:
        raise Http404
    now = timezone.now()
    document = kind(
        conversation,
        exported_by=request.user.get_username(),
        exported_at=now,
        base_url=request.build_absolute_uri("/"),
    )
    response = StreamingHttpResponse(_stream(document), content_type=document.content_type)
    name = export_filename(conversation, now, document.extension)
    response["Content-Disposition"] = content_disposition_header(True, name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response


async def _stream(document: Export) -> AsyncIterator[str]:
    """The export a chunk of messages at a time, each read on Django's database thread."""
    yield document.head()
    after = 0
    while chunk := await sync_to_async(next_chunk)(document.conversation, after=after):
        yield document.messages(chunk)
        after = chunk[-1]["id"]
    yield document.tail()
