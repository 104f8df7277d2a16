#!/usr/bin/env bash
# Start Redis and PostgreSQL on loopback, on non-default ports, for the scale tests, and print
# the `export` lines that point the tests at them:  eval "$(tests/scale/services.sh)"
# PostgreSQL refuses to run as root, so as root it runs as the `postgres` user (Debian package).
# Logs go to stderr so that stdout carries only the exports.
# `tests/scale/services.sh --stop DIR` stops the two started with that state folder and
# removes it (.ci/run does so when it exits).
set -euo pipefail
pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
pg_bin="${pg_bin:-$(dirname "$(command -v initdb)")}"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

if [ "${1:-}" = "--stop" ]; then
  state="${2:?--stop needs the state folder (DESKCHAT_TEST_SERVICES_DIR)}"
  [ -f "$state/pg/postmaster.pid" ] && as_pg "$pg_bin/pg_ctl" -D "$state/pg" -m fast -w stop >&2
  [ -f "$state/redis.pid" ] && kill "$(cat "$state/redis.pid")" 2>/dev/null
  rm -rf "$state"
  exit 0
fi

# The first port from the given one that nobody listens on (another run may hold it).
free_port() {
  local port="$1"
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
  echo "$port"
}
redis_port="$(free_port "${DESKCHAT_CI_REDIS_PORT:-6390}")"
pg_port="$(free_port "${DESKCHAT_CI_PG_PORT:-5440}")"
state="$(mktemp -d /tmp/deskchat-services.XXXXXX)"
chmod 755 "$state"

redis-server --port "$redis_port" --bind 127.0.0.1 --daemonize yes --save '' --appendonly no \
  --dir "$state" --pidfile "$state/redis.pid" --logfile "$state/redis.log" >&2

mkdir -m 700 "$state/pg"
[ "$(id -u)" = 0 ] && chown postgres: "$state/pg"
as_pg "$pg_bin/initdb" -D "$state/pg" -A trust -U deskchat --no-sync >&2
# fsync off: a throw-away test cluster; the socket lives in the data folder (postgres owns it).
as_pg "$pg_bin/pg_ctl" -D "$state/pg" -l "$state/pg/server.log" -w \
  -o "-p $pg_port -k $state/pg -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" \
  start >&2
"$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U deskchat deskchat >&2

echo "export DESKCHAT_TEST_REDIS_URL=redis://127.0.0.1:$redis_port/0"
echo "export DESKCHAT_TEST_POSTGRES_URL=postgres://deskchat@127.0.0.1:$pg_port/deskchat"
echo "export DESKCHAT_TEST_SERVICES_DIR=$state"
