"""The one ASGI application: Django for HTTP, the chat consumer for WebSockets."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatserver.settings")

import django

# Django must be set up before anything imports models (the consumer does).
django.setup(set_prefix=False)

from chatserver.realtime.http_requests import BodyFileASGIHandler  # noqa: E402

# Django's ASGIHandler, taking a large request body as the file Daphne spooled it to.
django_asgi_app = BodyFileASGIHandler()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from chatserver.realtime.routing import websocket_urlpatterns  # noqa: E402
from chatserver.realtime.socket_auth import SessionKeyMiddleware  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            SessionKeyMiddleware(URLRouter(websocket_urlpatterns))
        ),
    }
)
