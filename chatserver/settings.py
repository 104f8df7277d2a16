"""Django settings for Deskchat.

Every knob is read here, once, from a ``DESKCHAT_*`` environment variable with a safe default;
docs/configuration.md lists them all (a test keeps that list complete). The launcher in
``desktop/`` sets ``DESKCHAT_DATA_DIR`` and the listener variables before Django starts.
"""

from __future__ import annotations

from pathlib import Path

from chatserver import __version__, paths
from chatserver.config import (
    channel_layers_from_env,
    database_from_env,
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_str,
    is_redis_layer,
    load_or_create_secret_key,
    resolve_data_dir,
)

VERSION = __version__
# Bundled folders come from one helper that also works inside a PyInstaller build.
PROJECT_DIR = paths.project_root()

DATA_DIR: Path = resolve_data_dir()
SECRET_KEY = load_or_create_secret_key(DATA_DIR)
DEBUG = env_bool("DESKCHAT_DEBUG", False)

# Hosts the server answers to. The launcher adds the LAN addresses it listens on; the same
# list drives the WebSocket Origin check (AllowedHostsOriginValidator).
ALLOWED_HOSTS = env_list("DESKCHAT_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])

INSTALLED_APPS = [
    # Daphne first: importing it installs Twisted's asyncio reactor before anything else does.
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "chatserver.accounts",
    "chatserver.chat",
    "chatserver.realtime",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "chatserver.security.ContentSecurityPolicyMiddleware",
    "chatserver.security.SecureCookiesOnHttpsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "chatserver.urls"
ASGI_APPLICATION = "chatserver.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [paths.templates_dir()],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

DATABASES = {"default": database_from_env(DATA_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CHANNEL_LAYERS = channel_layers_from_env()

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "chatserver.accounts.backends.AccountBackend",  # ModelBackend, the user read in plain SQL
    # Never reached at log-in (AccountBackend refuses wrong credentials outright); listed
    # because a session keeps the backend that signed it in, and Django honours it only while
    # it is listed: sessions from before AccountBackend stay signed in.
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ru", "Русский")]
LOCALE_PATHS = [paths.locale_dir()]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"

STATIC_URL = "/static/"
STATICFILES_DIRS = [paths.static_dir()]
# Served by WhiteNoise straight from the source folders: nothing to collect before a run,
# which keeps the frozen app and `python -m desktop` identical.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
# WhiteNoise's own table has no .wav (it would go out as application/octet-stream): the
# notification sound, ui/static/sound/notify.wav.
WHITENOISE_MIMETYPES = {".wav": "audio/wav"}

# Browser-facing hardening (docs/security.md explains each choice).
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("DESKCHAT_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_NAME = "deskchat_session"
SESSION_ENGINE = "chatserver.accounts.sessions"  # database sessions, read in one query
CSRF_COOKIE_NAME = "deskchat_csrftoken"
SESSION_COOKIE_AGE = 60 * 60 * 24 * 30
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
CSRF_TRUSTED_ORIGINS = env_list("DESKCHAT_CSRF_TRUSTED_ORIGINS", [])

# --- chat limits (docs/configuration.md) --------------------------------------------------
# Several server processes share this database (the Redis layer).
_MULTI_WORKER = env_bool("DESKCHAT_MULTI_WORKER", is_redis_layer(CHANNEL_LAYERS))
DESKCHAT = {
    "MAX_FRAME_BYTES": env_int("DESKCHAT_MAX_FRAME_BYTES", 65_536),
    "MAX_BODY_CHARS": 4_000,
    "RATE_PER_SECOND": env_float("DESKCHAT_RATE_PER_SECOND", 5.0),
    "RATE_BURST": env_int("DESKCHAT_RATE_BURST", 30),
    "MAX_ROOMS_PER_CONNECTION": env_int("DESKCHAT_MAX_ROOMS_PER_CONNECTION", 200),
    "MAX_CONNECTIONS_PER_USER": env_int("DESKCHAT_MAX_CONNECTIONS_PER_USER", 20),
    # Unsent bytes a WebSocket may hold before it is closed as a slow reader (4009); above
    # the largest burst the server sends on its own (a resume batch), docs/security.md.
    "SLOW_READER_BYTES": env_int("DESKCHAT_SLOW_READER_BYTES", 16 * 1024 * 1024),
    "SIGNUP": env_choice("DESKCHAT_SIGNUP", "open", ["open", "invite", "off"]),
    "INVITE_CODE": env_str("DESKCHAT_INVITE_CODE", ""),
    "LOGIN_FAILURE_LIMIT": env_int("DESKCHAT_LOGIN_FAILURE_LIMIT", 5),
    "LOGIN_LOCKOUT_SECONDS": env_int("DESKCHAT_LOGIN_LOCKOUT_SECONDS", 300),
    "PRESENCE_HEARTBEAT_SECONDS": env_int("DESKCHAT_PRESENCE_HEARTBEAT_SECONDS", 10),
    "PRESENCE_STALE_SECONDS": env_int("DESKCHAT_PRESENCE_STALE_SECONDS", 30),
    # Idle time after which a client shows its user as away by itself (0: never).
    "AWAY_AFTER_SECONDS": env_int("DESKCHAT_AWAY_AFTER_SECONDS", 600),
    # Share on the LAN over plain HTTP instead of HTTPS with Deskchat's own CA (the sharing
    # panel then says that traffic is readable on the network; docs/security.md).
    "LAN_PLAIN_HTTP": env_bool("DESKCHAT_LAN_PLAIN_HTTP", False),
    # Several server processes share this database (Redis layer): presence rows are then
    # swept per worker by heartbeat instead of all cleared at start.
    "MULTI_WORKER": _MULTI_WORKER,
    # Several processes store and fan out messages side by side, so a socket can get id 101
    # before id 100 (stored a moment earlier by another process); ``resume`` then also sends
    # what was stored this long before the id it resumes from (docs/operations.md). One
    # process sends every message in id order and needs no overlap.
    "RESUME_OVERLAP_SECONDS": env_int(
        "DESKCHAT_RESUME_OVERLAP_SECONDS", 10 if _MULTI_WORKER else 0
    ),
    # Largest file ``POST /files/`` stores (docs/protocol.md, "Files").
    "MAX_UPLOAD_BYTES": env_int("DESKCHAT_MAX_UPLOAD_MB", 100) * 1024 * 1024,
    # An upload no message carries is removed after this many hours (0: kept for ever); the
    # app sends each upload at once, so only a send that never got through leaves one.
    "UNSENT_UPLOAD_HOURS": max(0.0, env_float("DESKCHAT_UNSENT_UPLOAD_HOURS", 24.0)),
    # An HTTP request that moves no byte (of its body, or of its answer) for this long is cut;
    # one still moving never is, however long it takes (chatserver/realtime/http_requests.py).
    "HTTP_IDLE_SECONDS": max(1.0, env_float("DESKCHAT_HTTP_IDLE_SECONDS", 60.0)),
    # Uploaded files, by content hash, and their thumbnails (chat/filestore.py); a folder
    # all of several machines' workers share when they serve one chat (docs/deploy.md).
    "FILES_DIR": Path(env_str("DESKCHAT_FILES_DIR", "") or DATA_DIR / "files").expanduser(),
}

LOG_LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    # A wrong Host header from a LAN peer is the peer's mistake, not a server fault: a
    # one-line WARNING instead of Django's ERROR with a traceback (chatserver/logfilters.py).
    "filters": {"as_warning": {"()": "chatserver.logfilters.AsWarning"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {
        "handlers": ["console"],
        "level": env_choice("DESKCHAT_LOG_LEVEL", "WARNING", LOG_LEVELS),
    },
    "loggers": {
        "django.channels.server": {"level": "WARNING"},
        "django.security.DisallowedHost": {"filters": ["as_warning"]},
    },
}
