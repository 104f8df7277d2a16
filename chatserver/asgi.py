"""The one ASGI application: Django for HTTP, the chat consumer for WebSockets."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatserver.settings")

from django.core.asgi import get_asgi_application

# Django must be set up before anything imports models (the consumer does).
django_asgi_app = get_asgi_application()

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
