from django.urls import path

from chatserver.accounts import views
from chatserver.accounts.desktop_login import desktop_login

urlpatterns = [
    path("login/", views.ThrottledLoginView.as_view(), name="login"),
    path("logout/", views.LogoutPageView.as_view(), name="logout"),
    path("signup/", views.signup, name="signup"),
    path("desktop-login/", desktop_login, name="desktop_login"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("password/done/", views.PasswordChangeDoneView.as_view(), name="password_change_done"),
]
