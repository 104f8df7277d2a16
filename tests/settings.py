"""Settings for the test run: the real ones, on a private data folder, with test-sized limits.

pytest-django imports this before any conftest runs, so the environment is set here.
"""

import os
import tempfile

os.environ.setdefault("DESKCHAT_DATA_DIR", tempfile.mkdtemp(prefix="deskchat-test-"))
os.environ.setdefault("DESKCHAT_RATE_BURST", "1000")  # tests send bursts on purpose

from chatserver.settings import *  # noqa: F403

# Hashing passwords the real way takes ~0.3 s each; unit tests create many users.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
