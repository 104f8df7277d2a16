"""Django's database sessions, read with one plain query.

Every WebSocket connect and every page load reads the session. The ORM spent more Python
building that one ``SELECT`` than SQLite takes to answer it: about a tenth of a connect's CPU
in the S2 profile (docs/benchmarks.md). Same table, same rule (unexpired rows only), same
decoding; writes, expiry and clean-up stay Django's. The query and the one private attribute
it needs are in ``django_internals``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.backends import db

from chatserver.accounts.django_internals import forget_session_key, unexpired_session_data


class SessionStore(db.SessionStore):
    def load(self) -> dict[str, Any]:
        """The session's data, or {} (and no key) when it is unknown or expired."""
        data = unexpired_session_data(self.model, self.session_key) if self.session_key else None
        if data is None:
            forget_session_key(self)
            return {}
        return self.decode(data)
