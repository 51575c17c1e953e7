#!/usr/bin/env bash
# Creates a throwaway database for one test run and prints
# "export TEST_DATABASE_URL=..." for the Makefile to eval. The database name
# carries the process id; drop-test-db.sh removes it (and leftovers older
# than a day from killed runs).
set -euo pipefail
admin=$("$(dirname "$0")/postgres.sh")
name="karkas_test_$$_$(date +%s)"
psql "$admin" -Atqc "CREATE DATABASE $name" >&2
echo "export TEST_DATABASE_URL='${admin%/postgres*}/$name?sslmode=disable' KARKAS_TEST_DB_NAME=$name KARKAS_PG_ADMIN='$admin'"
