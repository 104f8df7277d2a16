"""Django's database sessions, read with one plain query.

Every WebSocket connect and every page load reads the session. The ORM spent more Python
building that one ``SELECT`` than SQLite takes to answer it: about a tenth of a connect's CPU
in the S2 profile (docs/benchmarks.md). Same table, same rule (unexpired rows only), same
decoding; writes, expiry and clean-up stay Django's.
"""

from __future__ import annotations

from types import SimpleNamespace

from django.contrib.sessions.backends import db
from django.db import connections, router
from django.utils import timezone


class SessionStore(db.SessionStore):
    def _get_session_from_db(self) -> SimpleNamespace | None:
        if not self.session_key:
            self._session_key = None
            return None
        connection = connections[router.db_for_read(self.model)]
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT session_data FROM {self.model._meta.db_table}"
                " WHERE session_key = %s AND expire_date > %s",
                [self.session_key, connection.ops.adapt_datetimefield_value(timezone.now())],
            )
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return None
        return SimpleNamespace(session_data=row[0])
