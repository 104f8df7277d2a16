from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language

from chatserver import pwa, trust
from chatserver.chat import file_views
from chatserver.chat import views as chat_views

urlpatterns = [
    path("", chat_views.app, name="app"),
    path("healthz", chat_views.healthz, name="healthz"),
    path("manifest.webmanifest", pwa.manifest, name="manifest"),
    path("sw.js", pwa.service_worker, name="service_worker"),
    path("pwa/icon-<int:size>.png", pwa.icon, name="pwa_icon"),
    path("trust/", trust.trust_page, name="trust"),
    path("trust/deskchat-ca.crt", trust.ca_certificate, name="trust_ca"),
    path("chat/", include("chatserver.chat.urls")),
    path("files/", file_views.upload, name="file_upload"),
    # A file's name may follow its id (the file object's ``url`` has it); names hold no "/",
    # so ``thumb/`` is never one.
    path("files/<int:file_id>/", file_views.download, name="file_download"),
    path("files/<int:file_id>/thumb/", file_views.thumbnail, name="file_thumbnail"),
    path("files/<int:file_id>/<str:name>", file_views.download, name="file_download_named"),
    path("export/", chat_views.export, name="export"),
    path("accounts/", include("chatserver.accounts.urls")),
    # The language switch is also on the log-in and sign-up pages, before anyone is logged in.
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("admin/", admin.site.urls),
]

handler400 = "chatserver.errors.bad_request"
handler403 = "chatserver.errors.forbidden"
handler404 = "chatserver.errors.not_found"
handler500 = "chatserver.errors.server_error"
