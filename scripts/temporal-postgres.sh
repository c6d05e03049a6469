#!/usr/bin/env bash
# The production Temporal shape without Docker: the real server (go.temporal.io/server, built from
# the Go module proxy) on a PostgreSQL cluster of its own, for the `npm run test:postgres` tier and
# for developers who want to see what a self-hosted cluster does.
#
#   scripts/temporal-postgres.sh up           install what is missing, start PostgreSQL and Temporal
#   scripts/temporal-postgres.sh install      only install what is missing (PostgreSQL, the server binaries)
#   scripts/temporal-postgres.sh down         stop both and delete their data (the next `up` is fresh)
#   scripts/temporal-postgres.sh kill-server  SIGKILL the Temporal server only (crash tests); `up` restarts it
#   scripts/temporal-postgres.sh env          print TEMPORAL_ADDRESS=… for the running server
#   scripts/temporal-postgres.sh settings     print what docker-compose.yml must agree with (test/deploy checks)
#
# `up` is idempotent: what is installed, running or migrated already is left alone. A fresh cluster
# has only the `temporal-system` namespace, as a self-hosting team's has: no `default`, no search
# attributes. Everything listens on 127.0.0.1 only, on ports of its own (not 5432 or 7233).
#
# Settings (environment):
#   WINGMAN_PG_DIR            state: PostgreSQL data, server config and logs   (default .temporal/postgres;
#                             as root, PostgreSQL's data goes to /tmp when the postgres user cannot reach it)
#   WINGMAN_PG_PORT           PostgreSQL port                                  (default 25432)
#   WINGMAN_PG_TEMPORAL_PORT  Temporal frontend gRPC port; the other services use the ports after it
#                             (+1 history, +2 matching, +6 worker, +10 HTTP, +20 metrics, +100.. membership;
#                             membership ports are stored as a smallint, so keep it below 32667)
#                                                                              (default 27233)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# What docker-compose.yml runs too (test/deploy/compose.test.ts checks that they agree): the server
# version, the schema steps (the compose stack's own one-shot script, run here against the module's
# schema files) and the dynamic config the compose stack mounts.
TEMPORAL_SERVER_VERSION=1.32.0
SCHEMA_PLUGIN=postgres12
SCHEMA_SUBDIR=schema/postgresql/v12
SCHEMA_SCRIPT=deploy/scripts/setup-schema.sh
DYNAMIC_CONFIG=deploy/dynamicconfig/wingman.yaml
DB_USER=temporal
DB_PASSWORD=temporal
DB_NAME=temporal
VISIBILITY_DB_NAME=temporal_visibility
SERVER_ENV=development-postgres12

STATE=${WINGMAN_PG_DIR:-$ROOT/.temporal/postgres}
PG_PORT=${WINGMAN_PG_PORT:-25432}
FRONTEND_PORT=${WINGMAN_PG_TEMPORAL_PORT:-27233}
HOST=127.0.0.1
ADDRESS=$HOST:$FRONTEND_PORT

say() { echo "temporal-postgres: $*"; }
die() { echo "temporal-postgres: $*" >&2; exit 1; }

# --- installing what is missing -----------------------------------------------------------------

pg_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && { echo "$d"; return 0; }; done
  return 1
}

install_postgres() {
  pg_bin >/dev/null && return 0
  [ "$(id -u)" -eq 0 ] || die "PostgreSQL is not installed and this is not root: sudo apt-get install -y postgresql"
  say "installing Debian's postgresql"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  pg_bin >/dev/null || die "apt installed postgresql but no initdb was found under /usr/lib/postgresql"
}

GOBIN_DIR=
SERVER_BIN=
SQL_BIN=
MODULE_DIR=

install_temporal() {
  command -v go >/dev/null ||
    die "Go is not installed (go.temporal.io/server@v$TEMPORAL_SERVER_VERSION needs Go 1.24+): https://go.dev/dl/"
  GOBIN_DIR=$(go env GOBIN)
  [ -n "$GOBIN_DIR" ] || GOBIN_DIR=$(go env GOPATH)/bin
  SERVER_BIN=$GOBIN_DIR/server
  SQL_BIN=$GOBIN_DIR/sql
  local pkg
  for pkg in server:cmd/server sql:cmd/tools/sql; do
    local bin=$GOBIN_DIR/${pkg%%:*}
    if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -qw "$TEMPORAL_SERVER_VERSION"; then continue; fi
    say "building go.temporal.io/server/${pkg#*:}@v$TEMPORAL_SERVER_VERSION (several minutes the first time)"
    local t0=$SECONDS
    go install "go.temporal.io/server/${pkg#*:}@v$TEMPORAL_SERVER_VERSION"
    say "built $bin in $((SECONDS - t0)) s"
  done
  # The module's own config and schema files: read-only in the module cache, never edited.
  MODULE_DIR=$(go mod download -json "go.temporal.io/server@v$TEMPORAL_SERVER_VERSION" |
    sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')
  [ -f "$MODULE_DIR/config/$SERVER_ENV.yaml" ] || die "no config/$SERVER_ENV.yaml in $MODULE_DIR"
}

# --- PostgreSQL ---------------------------------------------------------------------------------

# PostgreSQL refuses to run as root: as root, its commands run as the `postgres` user.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# PostgreSQL's own directory (data, socket, log): under $STATE, unless $STATE is closed to the
# postgres user (a checkout under /root, say): then under /tmp, one per port.
pg_home() {
  if [ "$(id -u)" -ne 0 ]; then echo "$STATE/pg"; return; fi
  mkdir -p "$STATE/pg"
  chown postgres: "$STATE/pg"
  if runuser -u postgres -- test -w "$STATE/pg"; then
    echo "$STATE/pg"
  else
    echo "${TMPDIR:-/tmp}/wingman-temporal-pg-$PG_PORT"
  fi
}
PG_HOME=

pg_data() { echo "$PG_HOME/data"; }

port_answers() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

pg_running() { as_pg "$(pg_bin)/pg_ctl" -D "$(pg_data)" status >/dev/null 2>&1; }

start_postgres() {
  local bin data
  bin=$(pg_bin)
  data=$(pg_data)
  mkdir -p "$PG_HOME"
  [ "$(id -u)" -ne 0 ] || chown postgres: "$PG_HOME"
  if pg_running; then return 0; fi
  if [ ! -f "$data/PG_VERSION" ]; then
    say "initdb $data"
    local pwfile="$PG_HOME/.pw"
    (umask 077 && echo "$DB_PASSWORD" >"$pwfile")
    [ "$(id -u)" -ne 0 ] || chown postgres: "$pwfile"
    as_pg "$bin/initdb" -D "$data" -U postgres --auth-local=trust --auth-host=scram-sha-256 --pwfile="$pwfile" \
      --encoding=UTF8 --no-locale >"$STATE/initdb.log" ||
      die "initdb failed; see $STATE/initdb.log"
    rm -f "$pwfile"
  fi
  if port_answers "$PG_PORT"; then die "port $PG_PORT is taken by something else: set WINGMAN_PG_PORT"; fi
  # Temporal's services keep pools of their own (up to 20 connections each): more than the default 100.
  as_pg "$bin/pg_ctl" -D "$data" -l "$PG_HOME/postgres.log" -w -t 60 \
    -o "-h $HOST -p $PG_PORT -k $PG_HOME -c max_connections=200" start >/dev/null ||
    die "PostgreSQL did not start; see $PG_HOME/postgres.log"
}

psql_admin() {
  as_pg "$(pg_bin)/psql" -h "$PG_HOME" -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA "$@"
}

create_role() {
  if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$DB_USER'")" != 1 ]; then
    psql_admin -c "CREATE ROLE $DB_USER LOGIN CREATEDB PASSWORD '$DB_PASSWORD'"
  fi
}

# --- schemas: the compose stack's script, with the module's sql tool and schema files ------------

setup_schemas() {
  # The admin-tools image names the tool temporal-sql-tool; `go install` names it sql.
  mkdir -p "$STATE/bin"
  ln -sf "$SQL_BIN" "$STATE/bin/temporal-sql-tool"
  PATH="$STATE/bin:$PATH" DB=$SCHEMA_PLUGIN POSTGRES_SEEDS=$HOST DB_PORT=$PG_PORT POSTGRES_USER=$DB_USER \
    POSTGRES_PWD=$DB_PASSWORD DBNAME=$DB_NAME VISIBILITY_DBNAME=$VISIBILITY_DB_NAME \
    SCHEMA_ROOT="$MODULE_DIR/$SCHEMA_SUBDIR" \
    sh "$ROOT/$SCHEMA_SCRIPT" >>"$STATE/schema.log" 2>&1 || die "the schema setup failed; see $STATE/schema.log"
}

# --- the Temporal server ------------------------------------------------------------------------

# The module's development-postgres12.yaml with this cluster's ports: a copy under $STATE, since
# the module cache is read-only and 5432/7233 may belong to someone else.
write_config() {
  local dir="$STATE/config" b=$FRONTEND_PORT
  mkdir -p "$dir/dynamicconfig"
  cp "$ROOT/$DYNAMIC_CONFIG" "$dir/dynamicconfig/"
  sed -e "s/127\.0\.0\.1:5432/$HOST:$PG_PORT/g" \
    -e "s/grpcPort: 7233/grpcPort: $b/; s/grpcPort: 7234/grpcPort: $((b + 1))/" \
    -e "s/grpcPort: 7235/grpcPort: $((b + 2))/; s/grpcPort: 7239/grpcPort: $((b + 6))/" \
    -e "s/membershipPort: 6933/membershipPort: $((b + 100))/; s/membershipPort: 6934/membershipPort: $((b + 101))/" \
    -e "s/membershipPort: 6935/membershipPort: $((b + 102))/; s/membershipPort: 6939/membershipPort: $((b + 106))/" \
    -e "s/httpPort: 7243/httpPort: $((b + 10))/" \
    -e "s/listenAddress: \"127\.0\.0\.1:8000\"/listenAddress: \"$HOST:$((b + 20))\"/" \
    -e "s/port: 7936/port: 0/" \
    -e "s/^  level: info/  level: warn/" \
    -e "s/rpcAddress: \"localhost:7233\"/rpcAddress: \"$HOST:$b\"/" \
    -e "s#config/dynamicconfig/development-sql.yaml#config/dynamicconfig/$(basename "$DYNAMIC_CONFIG")#" \
    "$MODULE_DIR/config/$SERVER_ENV.yaml" >"$dir/$SERVER_ENV.yaml"
  # Every port of the module's file must have been moved: a missed one would clash with another server.
  if grep -nE ':(5432|7233|8000)\b|Port: (72[0-9][0-9]|69[0-9][0-9])\b' "$dir/$SERVER_ENV.yaml"; then
    die "the module's $SERVER_ENV.yaml has a port this script does not move (lines above)"
  fi
}

server_pid() { cat "$STATE/server.pid" 2>/dev/null || true; }

server_running() {
  local pid
  pid=$(server_pid)
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

start_server() {
  if server_running; then return 0; fi
  local p
  for p in $FRONTEND_PORT $((FRONTEND_PORT + 1)) $((FRONTEND_PORT + 2)) $((FRONTEND_PORT + 6)); do
    if port_answers "$p"; then die "port $p is taken by something else: set WINGMAN_PG_TEMPORAL_PORT"; fi
  done
  write_config
  (cd "$STATE" && exec setsid "$SERVER_BIN" --root "$STATE" --config config --env "$SERVER_ENV" --allow-no-auth start \
    >>"$STATE/server.log" 2>&1 </dev/null) &
  echo $! >"$STATE/server.pid"
  # Ready when the frontend answers and the system namespace is served (the health check passes).
  local i
  for i in $(seq 1 120); do
    server_running || die "the Temporal server exited; see $STATE/server.log"
    if port_answers "$FRONTEND_PORT" && health_ok; then return 0; fi
    sleep 1
  done
  die "the Temporal server did not answer on $ADDRESS within 120 s; see $STATE/server.log"
}

health_ok() {
  if command -v temporal >/dev/null; then
    temporal operator cluster health --address "$ADDRESS" >/dev/null 2>&1
  else
    port_answers "$FRONTEND_PORT"
  fi
}

# --- commands -----------------------------------------------------------------------------------

up() {
  local t0=$SECONDS
  install_postgres
  install_temporal
  PG_HOME=$(pg_home)
  start_postgres
  create_role
  setup_schemas
  start_server
  say "Temporal $TEMPORAL_SERVER_VERSION on PostgreSQL ($HOST:$PG_PORT) is up in $((SECONDS - t0)) s"
  say "TEMPORAL_ADDRESS=$ADDRESS   (state and logs in $STATE; stop with: scripts/temporal-postgres.sh down)"
}

stop_server() {
  local pid
  pid=$(server_pid)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    local i
    for i in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  rm -f "$STATE/server.pid"
}

down() {
  stop_server
  # Nothing of PostgreSQL to stop where it was never installed (as root: no postgres user).
  if [ "$(id -u)" -ne 0 ] || id postgres >/dev/null 2>&1; then
    PG_HOME=$(pg_home)
    if [ -f "$(pg_data)/PG_VERSION" ] && pg_bin >/dev/null && pg_running; then
      as_pg "$(pg_bin)/pg_ctl" -D "$(pg_data)" -m fast -w stop >/dev/null
    fi
  fi
  rm -rf "$STATE" ${PG_HOME:+"$PG_HOME"}
  say "stopped; removed $STATE"
}

kill_server() {
  server_running || die "no Temporal server of this script is running"
  kill -KILL "$(server_pid)"
  while server_running; do sleep 0.1; done
  rm -f "$STATE/server.pid"
  say "Temporal server killed (SIGKILL); PostgreSQL keeps running"
}

case "${1:-}" in
  up) up ;;
  install) install_postgres; install_temporal; say "server $SERVER_BIN, sql tool $SQL_BIN, module $MODULE_DIR" ;;
  down) down ;;
  kill-server) kill_server ;;
  env) echo "TEMPORAL_ADDRESS=$ADDRESS" ;;
  settings)
    for v in TEMPORAL_SERVER_VERSION SCHEMA_PLUGIN SCHEMA_SUBDIR SCHEMA_SCRIPT DYNAMIC_CONFIG \
      DB_USER DB_NAME VISIBILITY_DB_NAME; do
      echo "$v=${!v}"
    done ;;
  *) echo "usage: $0 up|down|kill-server|env|settings" >&2; exit 2 ;;
esac
