#!/bin/sh
# One-shot (compose service `temporal-schema`, image temporalio/admin-tools; also run by
# scripts/temporal-postgres.sh with the Go module's tool and schema files): creates Temporal's
# two PostgreSQL databases and migrates each schema to the version this admin-tools image ships.
# Idempotent: an existing database is kept, and setup-schema/update-schema only apply versions
# newer than the one recorded, so it runs on every `docker compose up`.
set -eu

: "${DB:=postgres12}"
: "${POSTGRES_SEEDS:=postgresql}"
: "${DB_PORT:=5432}"
: "${POSTGRES_USER:=temporal}"
: "${POSTGRES_PWD:?POSTGRES_PWD must be set}"
: "${DBNAME:=temporal}"
: "${VISIBILITY_DBNAME:=temporal_visibility}"
: "${SCHEMA_ROOT:=/etc/temporal/schema/postgresql/v12}"
: "${SETUP_TRIES:=30}"
: "${SETUP_DELAY:=2}"
# temporal-sql-tool reads the password from here, which keeps it out of `ps`.
export SQL_PASSWORD="$POSTGRES_PWD"

sql() {
  temporal-sql-tool --plugin "$DB" --ep "$POSTGRES_SEEDS" -p "$DB_PORT" -u "$POSTGRES_USER" "$@"
}

echo "waiting for PostgreSQL at $POSTGRES_SEEDS:$DB_PORT"
# admin-tools has nc; where it is missing (scripts/temporal-postgres.sh on a bare host, whose
# PostgreSQL is up already) the first sql command says whether the database answers.
answers() { ! command -v nc >/dev/null 2>&1 || nc -z -w 2 "$POSTGRES_SEEDS" "$DB_PORT"; }
i=1
until answers; do
  if [ "$i" -ge "$SETUP_TRIES" ]; then
    echo "PostgreSQL at $POSTGRES_SEEDS:$DB_PORT did not answer after $i tries" >&2
    exit 1
  fi
  i=$((i + 1))
  sleep "$SETUP_DELAY"
done

setup() { # setup DATABASE SCHEMA_DIR
  db=$1
  dir=$SCHEMA_ROOT/$2/versioned
  if [ ! -d "$dir" ]; then
    echo "no schema directory $dir in this admin-tools image" >&2
    exit 1
  fi
  echo "database $db: create"
  # Older temporal-sql-tool versions fail on an existing database; that is not an error here.
  if ! out=$(sql --db "$db" create 2>&1); then
    case "$out" in
      *"already exists"*) echo "database $db already exists" ;;
      *) echo "$out" >&2; exit 1 ;;
    esac
  fi
  echo "database $db: setup-schema, update-schema from $dir"
  sql --db "$db" setup-schema -v 0.0
  sql --db "$db" update-schema -d "$dir"
}

setup "$DBNAME" temporal
setup "$VISIBILITY_DBNAME" visibility
echo "Temporal schemas are up to date"
