"""Sign-up, log-in (throttled), log-out and password change, in Deskchat's own pages."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters

from chatserver.accounts import access, throttling
from chatserver.accounts.backends import ACCOUNT_BACKEND
from chatserver.accounts.forms import SignupForm
from chatserver.accounts.services import signup_mode, user_create_from_signup


def client_address(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR") or "unknown"


@method_decorator(login_not_required, name="dispatch")
class ThrottledLoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def get(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        # A fresh install has nobody to log in: lead straight to creating the first account.
        if _is_fresh():
            return redirect("signup")
        return super().get(request, *args, **kwargs)

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        username = request.POST.get("username", "")[:150]
        verdict = throttling.check(username, client_address(request))
        if not verdict.allowed:
            form = self.get_form()
            form.errors.clear()
            form.add_error(
                None,
                _("Too many failed log-ins. Try again in %(seconds)d seconds.")
                % {"seconds": verdict.retry_after},
            )
            response = self.render_to_response(self.get_context_data(form=form), status=429)
            response["Retry-After"] = str(verdict.retry_after)
            return response
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        throttling.record_success(form.get_user().get_username(), client_address(self.request))
        return super().form_valid(form)

    def form_invalid(self, form):
        username = self.request.POST.get("username", "")[:150]
        throttling.record_failure(username, client_address(self.request))
        return super().form_invalid(form)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["signup_mode"] = signup_mode()
        return context


@login_not_required
@sensitive_post_parameters("password1", "password2")
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("app")
    mode = signup_mode()
    if mode == "off":
        return render(request, "accounts/signup_closed.html", status=403)
    form = SignupForm(request.POST or None, require_invite=mode == "invite")
    if request.method == "POST" and form.is_valid():
        user = user_create_from_signup(form=form)
        login(request, user, backend=ACCOUNT_BACKEND)
        if user.is_superuser:
            messages.info(
                request, _("Welcome! As the first person here you are the administrator.")
            )
        return redirect("app")
    return render(
        request,
        "accounts/signup.html",
        {"form": form, "first": mode == "open" and not form.is_bound and _is_fresh()},
    )


def _is_fresh() -> bool:
    from django.contrib.auth import get_user_model

    return not get_user_model().objects.exists()


class LogoutPageView(auth_views.LogoutView):
    """GET shows a confirm button (log-out changes state, so it is a POST)."""

    template_name = "accounts/logged_out.html"
    http_method_names = ["get", "post", "options"]

    def get(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        return render(request, "accounts/logout.html")


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = "/accounts/password/done/"

    def form_valid(self, form):
        # Every other session of this user loses access; this one stays signed in (Django
        # cycles its key), and so do its open sockets, which hold the key from before.
        with access.keeping_session(self.request.session.session_key):
            return super().form_valid(form)


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "accounts/password_change_done.html"
