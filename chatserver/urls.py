from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language

from chatserver.chat import views as chat_views

urlpatterns = [
    path("", chat_views.app, name="app"),
    path("healthz", chat_views.healthz, name="healthz"),
    path("chat/", include("chatserver.chat.urls")),
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
