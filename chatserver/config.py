"""Reading Deskchat's configuration from the environment, with safe defaults.

Kept apart from ``settings.py`` so the launcher can resolve the data folder and validate
engine URLs before Django is imported, and so every variable is parsed the same way.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import platformdirs

APP_NAME = "Deskchat"


class ConfigError(ValueError):
    """A configuration value that cannot be used; its message is one line for a person."""


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name}={raw!r} is not a yes/no value (use 1/0, true/false, yes/no)")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_choice(name: str, default: str, choices: list[str]) -> str:
    value = os.environ.get(name) or default
    if value not in choices:
        raise ConfigError(f"{name}={value!r} must be one of: {', '.join(choices)}")
    return value


def default_data_dir() -> Path:
    """The per-user data folder (e.g. ~/.local/share/Deskchat on Linux)."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def resolve_data_dir() -> Path:
    """``DESKCHAT_DATA_DIR`` if set, else the per-user folder; created if missing.

    A folder Deskchat creates is private to the user (0700): it holds the database, the
    secret key and the logs, which other accounts on a shared computer must not read.
    """
    raw = os.environ.get("DESKCHAT_DATA_DIR")
    path = Path(raw).expanduser() if raw else default_data_dir()
    path = path.resolve()
    try:
        if not path.exists():
            path.mkdir(parents=True, mode=0o700)
    except FileExistsError:
        pass  # created meanwhile by a second launch
    except OSError as exc:
        raise ConfigError(f"cannot create the data folder {path}: {exc.strerror}") from None
    return path


def load_or_create_secret_key(data_dir: Path) -> str:
    """The install's secret key: generated on first run and kept, private, in the data folder."""
    key_file = data_dir / "secret_key"
    try:
        existing = key_file.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        existing = ""
    except OSError as exc:
        raise ConfigError(f"cannot read {key_file}: {exc.strerror}") from None
    if existing:
        return existing
    key = secrets.token_urlsafe(50)
    tmp = key_file.with_suffix(".tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(key)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, key_file)
    except OSError as exc:
        raise ConfigError(f"the data folder {data_dir} is not writable: {exc.strerror}") from None
    return key


def sqlite_database(data_dir: Path) -> dict[str, Any]:
    # WAL lets readers run beside the writer; synchronous=FULL makes every commit durable
    # before the ack goes out, even across a power cut (docs/security.md, "Durability").
    # IMMEDIATE transactions take the write lock up front, so a busy database waits on
    # busy_timeout instead of failing half-way through a transaction.
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(data_dir / "deskchat.sqlite3"),
        "OPTIONS": {
            # How long a write waits for another connection's write lock before it fails
            # with "database is locked" (the sender then gets server_error and may retry).
            "timeout": env_float("DESKCHAT_SQLITE_BUSY_TIMEOUT", 20.0),
            "transaction_mode": "IMMEDIATE",
            "init_command": (
                "PRAGMA journal_mode=WAL;"
                "PRAGMA synchronous=FULL;"
                "PRAGMA foreign_keys=ON;"
                "PRAGMA temp_store=MEMORY;"
            ),
        },
        # Keep the connection: every database_sync_to_async call otherwise reopens the file and
        # reruns the PRAGMAs (docs/benchmarks.md). All ORM work runs on one thread, so one stays.
        "CONN_MAX_AGE": None,
        "TEST": {"NAME": str(data_dir / "test-deskchat.sqlite3")},
    }


def parse_postgres_url(url: str) -> dict[str, Any]:
    """``postgres://user:pass@host:port/dbname?sslmode=...`` as a Django DATABASES entry."""
    parts = urlsplit(url)
    _check_port("DESKCHAT_DATABASE_URL", url)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise ConfigError(
            f"DESKCHAT_DATABASE_URL must start with postgres:// (got {parts.scheme or url!r})"
        )
    name = unquote(parts.path.lstrip("/"))
    if not name:
        raise ConfigError("DESKCHAT_DATABASE_URL names no database (postgres://host/DBNAME)")
    options = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
        "OPTIONS": options,
        # One persistent connection per worker thread; 0 closes it after each use (tests do,
        # so the test database can be dropped while a worker thread is idle).
        "CONN_MAX_AGE": env_int("DESKCHAT_DATABASE_CONN_MAX_AGE", 60),
        "CONN_HEALTH_CHECKS": True,
    }


def database_from_env(data_dir: Path) -> dict[str, Any]:
    url = os.environ.get("DESKCHAT_DATABASE_URL", "").strip()
    if not url or url.startswith("sqlite"):
        return sqlite_database(data_dir)
    return parse_postgres_url(url)


REDIS_LAYER = "chatserver.realtime.channels_redis_internals.RedisChannelLayer"


def is_redis_layer(layers: dict[str, Any]) -> bool:
    """Whether the ``CHANNEL_LAYERS`` setting uses Redis (ours or channels_redis's own)."""
    backend = layers["default"]["BACKEND"]
    return backend == REDIS_LAYER or backend.startswith("channels_redis")


def channel_layers_from_env() -> dict[str, Any]:
    """In-memory layer by default; ``DESKCHAT_CHANNEL_LAYER=redis://...`` selects Redis."""
    url = os.environ.get("DESKCHAT_CHANNEL_LAYER", "").strip()
    # Capacity is sized for a burst well beyond the rate limit; a consumer that still falls
    # this far behind (its channel full) is closed with 4009 and resumes from the database
    # (both layers mark such a channel lost instead of dropping events silently).
    capacity = env_int("DESKCHAT_LAYER_CAPACITY", 2_000)
    if not url or url == "memory":
        return {
            "default": {
                # Channels' layer minus an O(sockets) scan per delivery
                # (chatserver/realtime/channels_internals.py).
                "BACKEND": "chatserver.realtime.channels_internals.InMemoryChannelLayer",
                "CONFIG": {
                    "capacity": capacity,
                    "expiry": 60,
                    # Channels drops group members after 24 h by default, so a desktop window
                    # open for days would silently stop getting room messages. In one process
                    # every socket leaves its groups when it closes (a crash takes the whole
                    # layer with it), so nothing stale can pile up: keep members a year.
                    "group_expiry": 365 * 24 * 3600,
                },
            }
        }
    parts = urlsplit(url)
    if parts.scheme not in {"redis", "rediss"}:
        raise ConfigError(
            f"DESKCHAT_CHANNEL_LAYER must be 'memory' or a redis:// URL (got {redacted(url)!r})"
        )
    _check_port("DESKCHAT_CHANNEL_LAYER", url)
    return {
        "default": {
            # channels_redis, telling a socket that missed an event to resume instead of
            # dropping it silently (chatserver/realtime/channels_redis_internals.py).
            "BACKEND": REDIS_LAYER,
            "CONFIG": {
                # socket_timeout=None: redis-py 8 otherwise closes idle sockets every ~5 s
                # (channels_redis issue 422), which drops idle WebSockets with code 1011.
                "hosts": [{"address": url, "socket_timeout": None}],
                "capacity": capacity,
                "expiry": 60,
            },
        }
    }


def redacted(url: str) -> str:
    """``url`` with its password replaced by ``***``, for messages and logs."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def _check_port(name: str, url: str) -> None:
    try:
        urlsplit(url).port  # noqa: B018 - urllib validates the port only when it is read
    except ValueError:
        raise ConfigError(f"{name}={redacted(url)!r} has an invalid port") from None


def check_services(timeout: float = 5.0) -> None:
    """Connect once to the Redis and PostgreSQL named in the environment.

    A wrong host, port, password or database then fails at start with one line naming the
    variable, instead of the first chat message failing later. The default engines (in-memory
    layer, SQLite) need no check.
    """
    layer_url = os.environ.get("DESKCHAT_CHANNEL_LAYER", "").strip()
    if layer_url and layer_url != "memory":
        channel_layers_from_env()  # the URL's shape first
        _check_redis(layer_url, timeout)
    db_url = os.environ.get("DESKCHAT_DATABASE_URL", "").strip()
    if db_url and not db_url.startswith("sqlite"):
        _check_postgres(parse_postgres_url(db_url), db_url, timeout)


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return " ".join(text.splitlines()[0].split())


def _check_redis(url: str, timeout: float) -> None:
    try:
        import redis
    except ImportError:
        raise ConfigError(
            "DESKCHAT_CHANNEL_LAYER is a redis:// URL but the redis packages are missing "
            "(pip install 'deskchat[scale]')"
        ) from None
    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        client.ping()
    except (redis.RedisError, OSError) as error:
        raise ConfigError(
            f"cannot reach Redis at {redacted(url)} (DESKCHAT_CHANNEL_LAYER): {_first_line(error)}"
        ) from None
    finally:
        client.close()


def _check_postgres(database: dict[str, Any], url: str, timeout: float) -> None:
    try:
        import psycopg
    except ImportError:
        raise ConfigError(
            "DESKCHAT_DATABASE_URL is a postgres:// URL but psycopg is missing "
            "(pip install 'deskchat[scale]')"
        ) from None
    params = {
        "dbname": database["NAME"],
        "user": database["USER"] or None,
        "password": database["PASSWORD"] or None,
        "host": database["HOST"] or None,
        "port": database["PORT"] or None,
        **database["OPTIONS"],
    }
    try:
        psycopg.connect(
            **{k: v for k, v in params.items() if v is not None}, connect_timeout=int(timeout)
        ).close()
    except psycopg.Error as error:
        raise ConfigError(
            f"cannot connect to PostgreSQL at {redacted(url)} (DESKCHAT_DATABASE_URL): "
            f"{_first_line(error)}"
        ) from None
