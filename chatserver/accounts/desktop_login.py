"""The desktop window's own sign-in: exchanges a one-time launch token for a session."""

from __future__ import annotations

import logging

from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from chatserver.accounts import launch_token
from chatserver.accounts.backends import ACCOUNT_BACKEND

logger = logging.getLogger(__name__)


@login_not_required
@never_cache
@require_GET
def desktop_login(request: HttpRequest) -> HttpResponse:
    """Log the window in as its owner; a bad, used or expired token just shows the log-in page."""
    user_id = launch_token.consume(request.GET.get("token", ""))
    user = None
    if user_id is not None:
        user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        logger.warning("desktop sign-in refused: unknown, used or expired token")
        return redirect("login")
    login(request, user, backend=ACCOUNT_BACKEND)
    return redirect("app")
