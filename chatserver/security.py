"""Response headers Django does not set by itself, and the TLS files check before a start."""

import os
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

# No inline scripts, nothing from other origins; WebSockets only back to this server.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response


class SecureCookiesOnHttpsMiddleware:
    """Mark the session and CSRF cookies ``Secure`` on every response sent over HTTPS.

    One process serves its window on plain-HTTP loopback and colleagues on HTTPS (LAN sharing
    with Deskchat's own CA): a global ``SESSION_COOKIE_SECURE`` would break the window's
    log-in, while cookies set over HTTPS must never be sent back in clear. Listed before the
    session and CSRF middleware, so it sees the cookies they set.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from django.conf import settings

        response = self.get_response(request)
        if request.is_secure():
            for name in (settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME):
                if name in response.cookies:
                    response.cookies[name]["secure"] = True
        return response


def certificate_problem(cert: str, key: str) -> str | None:
    """Why ``cert``/``key`` cannot serve TLS, in one line; None when they load together.

    Checked before the server starts: Twisted would otherwise fail inside the reactor thread
    with a traceback and the launcher could only guess at the cause.
    """
    import ssl

    for label, path in (("certificate", cert), ("key", key)):
        if not os.path.isfile(path):
            return f"the TLS {label} file {path} does not exist"
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert, key)
    except (ssl.SSLError, OSError, ValueError) as exc:
        return f"the TLS certificate {cert} and key {key} do not load together: {exc}"
    return None
