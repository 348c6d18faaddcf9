#!/usr/bin/env bash
# `pangeo-forge db verify` and `db diff` end to end, on one backend: what an operator types.
# Usage: db_verify_diff.sh PANGEO_FORGE_BINARY SOURCE_DIR sqlite|postgresql
# PostgreSQL: the server of PANGEO_FORGE_TEST_POSTGRES_URL, two schemas of this run's own
# (made and dropped with psql) standing for staging and production.
set -euo pipefail
pf=$1
source_dir=$2
backend=$3
work=$(mktemp -d /tmp/pangeo_forge_cli_verify.XXXXXX)
failures=0

if [ "$backend" = postgresql ]; then
  server=${PANGEO_FORGE_TEST_POSTGRES_URL:?PANGEO_FORGE_TEST_POSTGRES_URL names no PostgreSQL server to test against}
  prefix="cli_verify_$$_$RANDOM"
  psql -q "$server" -c "CREATE SCHEMA ${prefix}_a; CREATE SCHEMA ${prefix}_b"
  trap 'psql -q "$server" -c "DROP SCHEMA ${prefix}_a CASCADE; DROP SCHEMA ${prefix}_b CASCADE"; rm -rf "$work"' EXIT
  separator=$([[ $server == *\?* ]] && echo "&" || echo "?")
  url_a="$server${separator}options=-c%20search_path%3D${prefix}_a"
  url_b="$server${separator}options=-c%20search_path%3D${prefix}_b"
else
  trap 'rm -rf "$work"' EXIT
  url_a="sqlite:///$work/a.db"
  url_b="sqlite:///$work/b.db"
fi
export DATABASE_URL=$url_a

source "$(dirname "${BASH_SOURCE[0]}")/checks.sh"

# --- verify ----------------------------------------------------------------------------
status "verify passes on the bundled history, one line per revision" 0 \
  "^a453b710a63a add github app records: up, down, up \([0-9.]+ ms\)$" "$pf" db verify
status "verify ends with what it checked" 0 \
  "^Verified 8 revision\(s\) on (a temporary SQLite file|the temporary schema pangeo_forge_verify_[0-9a-f]{12} on postgresql://forge:\*\*\*@)" \
  "$pf" db verify
status "verify --json" 0 '"declared_schema_checked": true' "$pf" db verify --json
if [ "$backend" = sqlite ]; then
  [ ! -e "$work/a.db" ] || { echo "FAIL: verify created the user's $work/a.db"; failures=$((failures + 1)); }
else
  status "verify leaves the user's schema empty" 0 "never migrated" "$pf" db current
fi

status "verify walks a branched history merged into one head, without a declared schema" 0 \
  "one head \(dddd00000001\), and no declared schema was compared at head" \
  "$pf" db verify --migrations "$source_dir/tests/migrate/branched/revisions"

planted="$work/planted"
mkdir "$planted"
cp "$source_dir"/migrations/versions/*.json "$planted"/
cat >"$planted/1c0ffee00001_index_bakery_region.json" <<'JSON'
{"revision": "1c0ffee00001", "down_revision": "a453b710a63a", "message": "index bakery region",
 "upgrade": [{"op": "create_index", "table": "bakery",
              "index": {"name": "ix_bakery_region", "columns": ["region"], "unique": false}}],
 "downgrade": []}
JSON
status "verify names a downgrade that forgets an index" 1 \
  "^FAILED: revision 1c0ffee00001's downgrade leaves a trace" "$pf" db verify --migrations "$planted"
status "verify names the index left behind" 1 "index ix_bakery_region on bakery is in the database but not declared" \
  "$pf" db verify --migrations "$planted"
status "verify --json names the failing revision" 1 '"revision": "1c0ffee00001"' \
  "$pf" db verify --migrations "$planted" --json

rm "$planted/1c0ffee00001_index_bakery_region.json"
cat >"$planted/1c0ffee00003_a_branch.json" <<'JSON'
{"revision": "1c0ffee00003", "down_revision": "3b96e7fb9cbd", "message": "a branch", "upgrade": [], "downgrade": []}
JSON
status "verify refuses two heads" 1 "the history has 2 heads \(.*1c0ffee00003.*\)" \
  "$pf" db verify --migrations "$planted"

status "verify with an unusable URL is a usage error" 2 "scheme 'mysql' is not supported.*\(the URL came from --url\)" \
  "$pf" db --url mysql://u@h/db verify

# --- diff ------------------------------------------------------------------------------
"$pf" db --url "$url_a" upgrade 3b96e7fb9cbd >/dev/null
"$pf" db --url "$url_b" upgrade head >/dev/null
status "diff lists the operations of the revisions between" 1 '"op": "create_table"' "$pf" db diff "$url_a" "$url_b"
status "diff names the tables B has and A lacks" 1 "table github_delivery is declared but not in the database" \
  "$pf" db diff "$url_a" "$url_b"
status "diff --sql prints the script for A's dialect" 1 'CREATE TABLE "github_delivery"' \
  "$pf" db diff "$url_a" "$url_b" --sql
status "diff --json" 1 '"equal": false' "$pf" db diff "$url_a" "$url_b" --json
status "diff the other way drops the tables" 1 '"op": "drop_table"' "$pf" db diff "$url_b" "$url_a"
status "diff of a database with itself is empty" 0 "^No differences: A's schema equals B's.$" \
  "$pf" db diff "$url_b" "$url_b"
status "diff --sql of equal databases has no statement" 0 "^-- pangeo_forge diff script, $backend: 0 operation" \
  "$pf" db diff "$url_b" "$url_b" --sql
"$pf" db --url "$url_a" upgrade head >/dev/null
status "diff after upgrading A to head is empty" 0 "No differences" "$pf" db diff "$url_a" "$url_b"
status "diff names a bad URL_B" 2 "URL_B is unusable: .*scheme 'mysql' is not supported" \
  "$pf" db diff "$url_a" mysql://u@h/db
status "diff names a URL_B with no database" 3 "URL_B: there is no SQLite database at $work/missing.db" \
  "$pf" db diff "$url_a" "sqlite:///$work/missing.db"

if [ "$failures" -ne 0 ]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "all db verify and diff checks passed ($backend)"
