#!/usr/bin/env bash
# `pangeo-forge db check` (reflection plus comparison) on a schema of 200 tables of 20
# columns each (a foreign key and an index apiece), whole command, timed by hyperfine, on
# SQLite and, when PANGEO_FORGE_BENCH_POSTGRES_URL names a server, on PostgreSQL. The
# declared schema is the database's own reflection, so check has every table to compare
# and finds no difference.
#
#   bench/check_200_tables.sh [BUILD_DIR]     (needs hyperfine and python3; psql for PostgreSQL)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${1:-$here/../build}
pf=$build/pangeo-forge
work=$(mktemp -d /tmp/pangeo_forge_bench200.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/no-migrations"

# schema_sql DIALECT: 200 tables, each with 20 columns, a foreign key to the one before, an index.
schema_sql() {
  local serial=INTEGER timestamp=DATETIME
  [ "$1" = postgresql ] && serial=SERIAL && timestamp=TIMESTAMP
  for i in $(seq -w 0 199); do
    local parent=""
    [ "$i" != 000 ] && parent=", CONSTRAINT t${i}_parent_id_fkey FOREIGN KEY (parent_id) REFERENCES t$(printf %03d $((10#$i - 1))) (id)"
    echo "CREATE TABLE t$i (id $serial NOT NULL, parent_id INTEGER, name VARCHAR NOT NULL, code VARCHAR(32),"
    echo "  a1 INTEGER, a2 INTEGER NOT NULL DEFAULT 0, b1 BIGINT, b2 BIGINT, f1 FLOAT, f2 FLOAT,"
    echo "  flag1 BOOLEAN NOT NULL DEFAULT FALSE, flag2 BOOLEAN, t1 $timestamp, t2 $timestamp NOT NULL,"
    echo "  s1 VARCHAR, s2 VARCHAR, s3 TEXT, s4 TEXT, s5 VARCHAR(80), s6 VARCHAR(80),"
    echo "  CONSTRAINT t${i}_pkey PRIMARY KEY (id)$parent);"
    echo "CREATE INDEX ix_t${i}_name ON t$i (name);"
  done
}

run() {  # run NAME URL
  "$pf" db --url "$2" reflect > "$work/$1.json"
  echo "$1: $(grep -c '"name": "s6"' "$work/$1.json") tables reflected"
  hyperfine --warmup 2 --runs 10 -N -n "check $1" \
    "$pf db --url $2 --migrations $work/no-migrations check --schema $work/$1.json"
}

schema_sql sqlite > "$work/sqlite.sql"
/usr/bin/python3 -c "import sqlite3, sys; sqlite3.connect(sys.argv[1]).executescript(open(sys.argv[2]).read())" \
  "$work/200.db" "$work/sqlite.sql"
run sqlite "sqlite:///$work/200.db"

if [ -n "${PANGEO_FORGE_BENCH_POSTGRES_URL:-}" ]; then
  export PGOPTIONS="-c client_min_messages=warning"
  psql -q "$PANGEO_FORGE_BENCH_POSTGRES_URL" -c "DROP SCHEMA IF EXISTS bench200 CASCADE" -c "CREATE SCHEMA bench200"
  { echo "SET search_path = bench200;"; schema_sql postgresql; } | psql -q "$PANGEO_FORGE_BENCH_POSTGRES_URL" >/dev/null
  separator='?'; [[ "$PANGEO_FORGE_BENCH_POSTGRES_URL" == *\?* ]] && separator='&'
  run postgresql "${PANGEO_FORGE_BENCH_POSTGRES_URL}${separator}options=-c%20search_path%3Dbench200"
  psql -q "$PANGEO_FORGE_BENCH_POSTGRES_URL" -c "DROP SCHEMA bench200 CASCADE"
fi
