#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers on 127.0.0.1:${PGPORT:-5432} and prints
# a URL for a role that can create databases. Starts the local cluster when it
# is down; installs Debian's postgresql when there is none. Used by `make test`
# and `make bench`. Prints only the URL on stdout; progress goes to stderr.
set -euo pipefail
port=${PGPORT:-5432}
say() { echo "postgres.sh: $*" >&2; }

ready() { pg_isready -q -h 127.0.0.1 -p "$port" 2>/dev/null; }

if ! command -v pg_isready >/dev/null 2>&1 || ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    say "PostgreSQL is not installed and this is not root: install the postgresql package"; exit 1
  fi
  say "installing PostgreSQL from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
fi

if ! ready; then
  for conf in /etc/postgresql/*/main; do
    ver=$(basename "$(dirname "$conf")")
    say "starting cluster $ver/main"
    pg_ctlcluster --skip-systemctl-redirect "$ver" main start >&2 || true
  done
  for _ in $(seq 1 30); do ready && break; sleep 1; done
fi
ready || { say "PostgreSQL does not answer on 127.0.0.1:$port"; exit 1; }

# Prefer the machine's own trust access; otherwise make a password role as
# the postgres OS user (a fresh Debian install asks for passwords on TCP).
if psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -Atqc 'select 1' >/dev/null 2>&1; then
  echo "postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
  exit 0
fi
if [ "$(id -u)" = 0 ]; then
  runuser -u postgres -- psql -p "$port" -d postgres -Atqc \
    "DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='karkas') THEN CREATE ROLE karkas LOGIN CREATEDB PASSWORD 'karkas'; END IF; END\$\$;" >&2
fi
if PGPASSWORD=karkas psql -h 127.0.0.1 -p "$port" -U karkas -d postgres -Atqc 'select 1' >/dev/null 2>&1; then
  echo "postgres://karkas:karkas@127.0.0.1:$port/postgres?sslmode=disable"
  exit 0
fi
say "cannot log in to PostgreSQL on 127.0.0.1:$port as postgres or karkas"
exit 1
