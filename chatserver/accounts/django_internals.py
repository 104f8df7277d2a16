"""Django internals Deskchat relies on: reading the user row and the session row in plain SQL.

The ORM spends more Python building a one-row ``SELECT`` than SQLite takes to answer it, and
both reads happen on every WebSocket connect and page load (docs/benchmarks.md). Public API
does most of the work: ``connection.cursor()``, ``Model.from_db`` (as querysets build
instances) and ``SessionStore.load`` (the documented method a session engine implements).
What is not public, checked against ``CHECKED_VERSIONS``:

- the ORM's row conversion: ``SQLCompiler.get_converters`` applies, per selected column,
  ``connection.ops.get_db_converters(col) + col.get_db_converters(connection)`` as
  ``convert(value, col, connection)`` (SQLite keeps dates as text, booleans as integers);
  ``Field.get_col(table)`` gives the column expression, ``_meta.concrete_fields`` the
  columns a queryset selects, in order, ``_meta.pk`` the primary key field;
- ``connection.ops.quote_name`` and ``connection.ops.adapt_datetimefield_value`` (how the
  backend quotes names and stores datetimes);
- ``SessionBase._session_key``: the settable side of the read-only ``session_key``; set to
  None when no row matches, so the next save picks a fresh key (Django's own engines do).

Why Deskchat wants each is in ``backends.py`` and ``sessions.py``.
tests/internals/test_django.py fails when the installed Django is outside the checked range
or no longer behaves as relied on here.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connections, router
from django.utils import timezone

DISTRIBUTION = "Django"
# Checked against 5.2.20: [lowest, first unchecked) as (major, minor) tuples.
CHECKED_VERSIONS = ((5, 2), (5, 3))


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


def user_pk(user_id: Any) -> Any:
    """``user_id`` (from a session: often a string) as the user model's primary key value.

    Raises ``ValidationError`` when no primary key could have that value.
    """
    return get_user_model()._meta.pk.to_python(user_id)


# Converters are bound to one connection's operations: one reader per connection object.
_readers: weakref.WeakKeyDictionary[Any, UserRowReader] = weakref.WeakKeyDictionary()


def user_row_reader(connection: Any) -> UserRowReader:
    """The reader for ``connection``, prepared on first use."""
    reader = _readers.get(connection)
    if reader is None:
        reader = _readers[connection] = UserRowReader.for_connection(connection)
    return reader


def unexpired_session_data(model: Any, session_key: str) -> str | None:
    """``session_data`` of ``model``'s row for ``session_key`` if it has not expired."""
    connection = connections[router.db_for_read(model)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT session_data FROM {model._meta.db_table}"
            " WHERE session_key = %s AND expire_date > %s",
            [session_key, connection.ops.adapt_datetimefield_value(timezone.now())],
        )
        row = cursor.fetchone()
    return None if row is None else row[0]


def forget_session_key(store: Any) -> None:
    """Drop ``store``'s key: the next save creates a session under a fresh one."""
    store._session_key = None
