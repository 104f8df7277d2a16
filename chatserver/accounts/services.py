"""Account writes: the first account on an install becomes its administrator."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from chatserver.accounts.forms import SignupForm
from chatserver.chat.services.rooms import memberships_at_signup


@transaction.atomic
def user_create_from_signup(*, form: SignupForm) -> AbstractBaseUser:
    user_model = get_user_model()
    # The lock keeps two simultaneous first sign-ups from both becoming administrator.
    first = not user_model.objects.select_for_update().exists()
    user = form.save(commit=False)
    if first:
        user.is_staff = True
        user.is_superuser = True
    user.save()
    memberships_at_signup(user_id=user.pk, first=first)
    return user


def signup_mode() -> str:
    """ "open", "invite" or "off"; a fresh install is always open so someone can be admin."""
    from django.conf import settings

    if not get_user_model().objects.exists():
        return "open"
    return settings.DESKCHAT["SIGNUP"]
