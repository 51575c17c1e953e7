#!/usr/bin/env bash
# Drops the test database a run created (KARKAS_TEST_DB_NAME).
set -uo pipefail
[ -n "${KARKAS_TEST_DB_NAME:-}" ] && [ -n "${KARKAS_PG_ADMIN:-}" ] || exit 0
psql "$KARKAS_PG_ADMIN" -Atqc "DROP DATABASE IF EXISTS $KARKAS_TEST_DB_NAME WITH (FORCE)" >/dev/null 2>&1 || true
