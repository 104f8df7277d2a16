from django.contrib import admin
from django.urls import include, path

from chatserver.chat import views as chat_views

urlpatterns = [
    path("", chat_views.app, name="app"),
    path("healthz", chat_views.healthz, name="healthz"),
    path("chat/", include("chatserver.chat.urls")),
    path("accounts/", include("chatserver.accounts.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]

handler400 = "chatserver.errors.bad_request"
handler403 = "chatserver.errors.forbidden"
handler404 = "chatserver.errors.not_found"
handler500 = "chatserver.errors.server_error"
