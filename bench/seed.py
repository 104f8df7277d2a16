"""Fast set-up inside Deskchat's own Django: users, logged-in sessions, rooms, memberships.

Signing 1,000 users up over HTTP spends minutes hashing passwords; this writes the same rows in
one transaction (users without a usable password, sessions exactly as ``login()`` stores them)
in well under a second. Run through the app's own entry so the data folder and secret match:
``python -m desktop manage shell --data-dir DIR -c "from bench.seed import run; run()"`` with
the spec as JSON in ``BENCH_SEED``. The result is one line on stdout after ``SEED_MARKER``.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta

SEED_MARKER = "BENCH-SEED:"


def run() -> None:
    from django.conf import settings
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.auth.hashers import make_password
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    from chatserver.chat.models import Membership, Room

    spec = json.loads(os.environ["BENCH_SEED"])
    call_command("migrate", interactive=False, verbosity=0)
    User = get_user_model()
    password = make_password(None)  # unusable: these users never log in with a form
    expires = timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE)
    store = SessionStore()
    with transaction.atomic():
        users = User.objects.bulk_create(
            [
                User(username=f"{spec.get('prefix', 'u')}{i:05d}", password=password)
                for i in range(spec["users"])
            ]
        )
        sessions = []
        for user in users:
            data = {
                SESSION_KEY: str(user.pk),
                # What login() stores for a user of the log-in form: the first backend.
                BACKEND_SESSION_KEY: settings.AUTHENTICATION_BACKENDS[0],
                HASH_SESSION_KEY: user.get_session_auth_hash(),
            }
            sessions.append(
                Session(
                    session_key=get_random_string(32),
                    session_data=store.encode(data),
                    expire_date=expires,
                )
            )
        Session.objects.bulk_create(sessions)
        rooms = {}
        for name in spec.get("rooms", []):
            room = Room.objects.create(name=name)
            rooms[name] = room.pk
            Membership.objects.bulk_create(Membership(user=u, room=room) for u in users)
    print(
        SEED_MARKER
        + json.dumps(
            {
                "users": [
                    {"id": u.pk, "username": u.username, "session": s.session_key}
                    for u, s in zip(users, sessions, strict=True)
                ],
                "rooms": rooms,
            }
        ),
        flush=True,
    )
