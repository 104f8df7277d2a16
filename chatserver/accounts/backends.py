"""Django's ``ModelBackend``, reading the signed-in user with one plain query.

Every WebSocket connect and every page load turns the session into a user
(``auth.get_user`` calls ``backend.get_user``). ``ModelBackend`` builds that one ``SELECT``
through the ORM's query compiler, which was close to half of a connect's work on the database
thread (docs/benchmarks.md). Here the ``SELECT`` is written once per database connection, and
each read runs it, converts the row as the ORM would and builds the instance with
``Model.from_db``, as querysets do (``django_internals.UserRowReader``). Passwords,
``is_active`` and permissions stay ``ModelBackend``'s.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connections, router

from chatserver.accounts.django_internals import user_pk, user_row_reader

ACCOUNT_BACKEND = "chatserver.accounts.backends.AccountBackend"


class AccountBackend(ModelBackend):
    def get_user(self, user_id: Any) -> Any:
        try:
            pk = user_pk(user_id)
        except ValidationError:  # no such key can exist: nobody is signed in
            return None
        connection = connections[router.db_for_read(get_user_model())]
        user = user_row_reader(connection).read(connection, pk)
        if user is None or not self.user_can_authenticate(user):
            return None
        return user

    def authenticate(self, request: Any, username: Any = None, password: Any = None, **kwargs: Any):
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None and password is not None:
            # Wrong credentials: refused here, or ModelBackend (listed after this one so that
            # sessions signed in before it keep working, settings.py) would hash them again.
            raise PermissionDenied
        return user
