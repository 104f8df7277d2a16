"""The page a join link leads to: which host this is, its CA's fingerprint, how to trust it.

Public on purpose (the colleague has no account yet) and holds nothing private: the host's
name, the CA *certificate* (never its key) and its fingerprint, which are what every TLS
handshake with this server shows anyway. ``chatserver/tls.py`` makes the CA.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from chatserver import tls

CA_DOWNLOAD_NAME = "deskchat-ca.crt"


def _ca_pem() -> bytes:
    path = tls.tls_dir(settings.DATA_DIR) / tls.CA_CERT
    if not path.is_file():  # plain HTTP, --cert, or a server install: nothing to trust here
        raise Http404("no Deskchat certificate authority on this server")
    return path.read_bytes()


@login_not_required
@require_GET
def trust_page(request: HttpRequest) -> HttpResponse:
    pem = _ca_pem()
    return render(
        request,
        "trust/trust.html",
        {
            "host_name": tls.host_name(),
            "fingerprint": tls.fingerprint(pem),
            "download_name": CA_DOWNLOAD_NAME,
            "secure": request.is_secure(),
        },
    )


@login_not_required
@require_GET
def ca_certificate(request: HttpRequest) -> HttpResponse:
    """The CA certificate (PEM) under a ``.crt`` name, which Windows, macOS, Android and iOS
    all open as "install a certificate"."""
    response = HttpResponse(_ca_pem(), content_type="application/x-x509-ca-cert")
    response["Content-Disposition"] = f'attachment; filename="{CA_DOWNLOAD_NAME}"'
    return response
