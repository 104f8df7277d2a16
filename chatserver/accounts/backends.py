"""Django's ``ModelBackend``, reading the signed-in user with one plain query.

Every WebSocket connect and every page load turns the session into a user
(``auth.get_user`` calls ``backend.get_user``). ``ModelBackend`` builds that one ``SELECT``
through the ORM's query compiler, which was close to half of a connect's work on the database
thread (docs/benchmarks.md). Django's documented ``Manager.raw`` runs the same ``SELECT`` and
builds the same model instance (every field, converted as the ORM converts it) without the
compiler. Passwords, ``is_active`` and permissions stay ``ModelBackend``'s.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

ACCOUNT_BACKEND = "chatserver.accounts.backends.AccountBackend"


class AccountBackend(ModelBackend):
    def get_user(self, user_id: Any) -> Any:
        model = get_user_model()
        try:
            pk = model._meta.pk.to_python(user_id)
        except ValidationError:  # no such key can exist: nobody is signed in
            return None
        quote = connection.ops.quote_name
        sql = (
            f"SELECT * FROM {quote(model._meta.db_table)} WHERE {quote(model._meta.pk.column)} = %s"
        )
        found = list(model._default_manager.raw(sql, [pk]))
        if not found or not self.user_can_authenticate(found[0]):
            return None
        return found[0]

    def authenticate(self, request: Any, username: Any = None, password: Any = None, **kwargs: Any):
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None and password is not None:
            # Wrong credentials: refused here, or ModelBackend (listed after this one so that
            # sessions signed in before it keep working, settings.py) would hash them again.
            raise PermissionDenied
        return user
