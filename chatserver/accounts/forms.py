from django import forms
from django.conf import settings
from django.contrib.auth.forms import UserCreationForm
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext_lazy as _


class SignupForm(UserCreationForm):
    """Django's sign-up form, plus an invite code when the host asks for one."""

    invite_code = forms.CharField(label=_("Invite code"), required=False, max_length=128)

    def __init__(self, *args, require_invite: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.require_invite = require_invite
        if not require_invite:
            del self.fields["invite_code"]
        else:
            self.fields["invite_code"].required = True

    def clean_invite_code(self) -> str:
        code = self.cleaned_data.get("invite_code", "")
        expected = settings.DESKCHAT["INVITE_CODE"]
        if self.require_invite and (not expected or not constant_time_compare(code, expected)):
            raise forms.ValidationError(_("That invite code is not right."))
        return code
