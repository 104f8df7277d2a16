"""Canary for chatserver/accounts/django_internals.py: row conversion and the session key."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore as StockStore
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import connection

from chatserver.accounts import django_internals
from chatserver.accounts.django_internals import UserRowReader, forget_session_key, user_pk
from tests.internals import assert_checked_version


def test_the_installed_django_is_the_checked_one():
    assert_checked_version(django_internals)


def test_the_reader_converts_with_exactly_the_compilers_converters():
    compiler = get_user_model().objects.all().query.get_compiler(connection=connection)
    compiler.setup_query()
    columns = [expression for expression, _, _ in compiler.select]
    expected = {
        position: (converters, column.target.attname)
        for position, (converters, column) in compiler.get_converters(columns).items()
    }
    reader = UserRowReader.for_connection(connection)
    ours = {position: (found, col.target.attname) for position, found, col in reader.converters}
    assert ours == expected, "the ORM converts rows differently now: update UserRowReader"
    assert expected, "SQLite needs converters (dates, booleans): the check must compare some"
    assert reader.attnames == [column.target.attname for column in columns]


def test_user_pk_converts_or_refuses():
    assert user_pk("12") == 12
    with pytest.raises(ValidationError):
        user_pk("not-a-number")


@pytest.mark.django_db
def test_a_forgotten_key_makes_the_next_save_pick_a_new_one():
    store = StockStore()
    store["a"] = 1
    store.save()
    old = store.session_key
    forget_session_key(store)
    assert store.session_key is None
    store["b"] = 2
    store.save()
    assert store.session_key not in (None, old)
    assert {field.attname for field in Session._meta.concrete_fields} == {
        "session_key",
        "session_data",
        "expire_date",
    }
