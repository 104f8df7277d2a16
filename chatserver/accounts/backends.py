"""Django's ``ModelBackend``, reading the signed-in user with one plain query.

Every WebSocket connect and every page load turns the session into a user
(``auth.get_user`` calls ``backend.get_user``). ``ModelBackend`` builds that one ``SELECT``
through the ORM's query compiler, which was close to half of a connect's work on the database
thread (docs/benchmarks.md). Here the ``SELECT`` is written once per database connection, and
each read runs it, converts the row as the ORM would (the backend's and each field's
converters: SQLite keeps dates as text and booleans as integers) and builds the instance with
``Model.from_db``, as querysets do. Passwords, ``is_active`` and permissions stay
``ModelBackend``'s.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connections, router

ACCOUNT_BACKEND = "chatserver.accounts.backends.AccountBackend"


@dataclass(frozen=True)
class UserRowReader:
    """The user table's ``SELECT`` by primary key, and how to turn its row into a user."""

    sql: str
    attnames: list[str]
    converters: list[tuple[int, list[Callable[..., Any]], Any]]  # (column, converters, col)

    @classmethod
    def for_connection(cls, connection: Any) -> UserRowReader:
        model = get_user_model()
        fields = model._meta.concrete_fields
        quote = connection.ops.quote_name
        table = model._meta.db_table
        converters = []
        for position, field in enumerate(fields):
            col = field.get_col(table)
            found = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
            if found:
                converters.append((position, found, col))
        return cls(
            sql=(
                f"SELECT {', '.join(quote(field.column) for field in fields)}"
                f" FROM {quote(table)} WHERE {quote(model._meta.pk.column)} = %s"
            ),
            attnames=[field.attname for field in fields],
            converters=converters,
        )

    def read(self, connection: Any, pk: Any) -> Any:
        with connection.cursor() as cursor:
            cursor.execute(self.sql, [pk])
            row = cursor.fetchone()
        if row is None:
            return None
        values = list(row)
        for position, converters, col in self.converters:
            for convert in converters:
                values[position] = convert(values[position], col, connection)
        return get_user_model().from_db(connection.alias, self.attnames, values)


# Converters are bound to one connection's operations: one reader per connection object.
_readers: weakref.WeakKeyDictionary[Any, UserRowReader] = weakref.WeakKeyDictionary()


class AccountBackend(ModelBackend):
    def get_user(self, user_id: Any) -> Any:
        model = get_user_model()
        try:
            pk = model._meta.pk.to_python(user_id)
        except ValidationError:  # no such key can exist: nobody is signed in
            return None
        connection = connections[router.db_for_read(model)]
        reader = _readers.get(connection)
        if reader is None:
            reader = _readers[connection] = UserRowReader.for_connection(connection)
        user = reader.read(connection, pk)
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
