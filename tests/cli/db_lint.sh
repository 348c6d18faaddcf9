#!/usr/bin/env bash
# `pangeo-forge db lint` end to end: its exit status and what it names, on the bundled
# migrations and on a copy with a planted revision; and the findings autogenerate prints.
# Usage: db_lint.sh PANGEO_FORGE_BINARY SOURCE_DIR
set -euo pipefail
pf=$1
source_dir=$2
work=$(mktemp -d /tmp/pangeo_forge_lint.XXXXXX)
trap 'rm -rf "$work"' EXIT
# Lint connects to nothing: a URL that cannot be reached must not matter.
export DATABASE_URL="postgresql://nobody@127.0.0.1:1/nothing"
failures=0

# status DESCRIPTION STATUS PATTERN... -- COMMAND...: the command exits with STATUS and its
# output (stdout and stderr) matches every PATTERN.
status() {
  local what=$1 wanted=$2
  shift 2
  local patterns=()
  while [ "$1" != "--" ]; do patterns+=("$1"); shift; done
  shift
  local output got=0
  output=$("$@" 2>&1) || got=$?
  if [ "$got" -ne "$wanted" ]; then
    echo "FAIL: $what: exit status $got, not $wanted"; echo "$output"; failures=$((failures + 1)); return
  fi
  for pattern in "${patterns[@]}"; do
    if ! grep -qE -- "$pattern" <<<"$output"; then
      echo "FAIL: $what: no match for /$pattern/ in:"; echo "$output"; failures=$((failures + 1)); return
    fi
  done
  echo "ok: $what"
}

status "the bundled migrations pass" 0 \
  "^0499cef6b57a remove api keys" \
  "upgrade.0 drop_table apikey: DROP TABLE takes ACCESS EXCLUSIVE on apikey, metadata only" \
  "dropping-table \(waived: no release of pangeo_forge reads apikey" \
  "upgrade.1 create_index ix_reciperun_bakery_id_status_started_at_id on reciperun: CREATE INDEX CONCURRENTLY takes SHARE UPDATE EXCLUSIVE on reciperun, scans the table" \
  "0 findings not waived, 1 waived" \
  -- "$pf" db lint
status "a range as history takes it" 0 "^3b96e7fb9cbd " "^a453b710a63a " "3 revisions" -- "$pf" db lint 3b96e7fb9cbd:head
status "on SQLite it says which operations rebuild their table" 0 \
  "upgrade.1 alter_column reciperun.status: table rebuild takes the database write lock on reciperun, copies every row" \
  -- "$pf" db lint --dialect sqlite
status "--json" 0 '"ok": true' '"lock": "SHARE UPDATE EXCLUSIVE"' '"rule": "dropping-table"' -- "$pf" db lint --json
status "a range counted from current is refused: 2" 2 "db lint reads no database" -- "$pf" db lint current:head
status "an unknown dialect is refused: 2" 2 "--dialect must be sqlite or postgresql" -- "$pf" db lint --dialect oracle

mkdir -p "$work/planted/versions"
cp "$source_dir"/migrations/versions/*.json "$work/planted/versions/"
p=(--migrations "$work/planted")
cat > "$work/planted/versions/f00d00000001_rename.json" <<'JSON'
{"revision": "f00d00000001", "down_revision": "a453b710a63a", "message": "rename region",
 "upgrade": [{"op": "add_column", "table": "bakery", "column": {"name": "kind", "type": "varchar"}},
             {"op": "rename_column", "table": "bakery", "column": "region", "new_name": "zone"}],
 "downgrade": [{"op": "rename_column", "table": "bakery", "column": "zone", "new_name": "region"},
               {"op": "drop_column", "table": "bakery", "column": "kind"}]}
JSON
status "a planted rename fails, naming the revision, the operation and the rule" 1 \
  "^f00d00000001 rename region" \
  "^  upgrade.1 rename_column bakery.region to zone: RENAME COLUMN takes ACCESS EXCLUSIVE on bakery, metadata only" \
  "^    renaming-column: a release still running may use bakery.region" \
  "1 finding not waived" \
  -- "$pf" db "${p[@]}" lint
status "--json says it is not ok" 1 '"ok": false' '"findings": 1' -- "$pf" db "${p[@]}" lint --json f00d00000001
status "the history below it passes" 0 "8 revisions" -- "$pf" db "${p[@]}" lint :a453b710a63a

cat > "$work/planted/versions/f00d00000002_unknown_rule.json" <<'JSON'
{"revision": "f00d00000002", "down_revision": "f00d00000001", "message": "bad waiver",
 "upgrade": [{"op": "drop_table", "table": "github_report"}], "downgrade": [],
 "lint": {"waive": [{"rule": "dropping-tables", "operation": 0, "reason": "typo"}]}}
JSON
status "a waiver of an unknown rule is refused, naming the file and the rule" 3 \
  "f00d00000002_unknown_rule.json is not a valid revision file" "lint.waive.0.rule: unknown lint rule 'dropping-tables'" \
  -- "$pf" db "${p[@]}" lint
sed -i 's/dropping-tables/dropping-table/' "$work/planted/versions/f00d00000002_unknown_rule.json"
status "the waived drop passes, the rename below it does not" 1 \
  "dropping-table \(waived: typo\)" "1 finding not waived, 2 waived" -- "$pf" db "${p[@]}" lint

# A waiver added or changed after a database applied the revision: the engine sees the same
# file (no "changed" warning); a change to an operation still warns.
export DATABASE_URL="sqlite:///$work/applied.db"
mkdir -p "$work/applied/versions"
cp "$source_dir"/migrations/versions/*.json "$work/applied/versions/"
"$pf" db --migrations "$work/applied" upgrade head >/dev/null
apikey="$work/applied/versions/0499cef6b57a_remove_api_keys.json"
sed -i 's/"reason": "no release of pangeo_forge reads apikey[^"]*"/"reason": "another reason"/' "$apikey"
status "the changed waiver is read" 0 "dropping-table \(waived: another reason\)" -- "$pf" db --migrations "$work/applied" lint 0499
output=$("$pf" db --migrations "$work/applied" current 2>&1)
if grep -q "warning" <<<"$output"; then
  echo "FAIL: a changed waiver made the engine warn:"; echo "$output"; failures=$((failures + 1))
else
  echo "ok: a changed waiver leaves the checksum the database recorded"
fi
sed -i 's/"message": "remove api keys"/"message": "remove the api keys"/' "$apikey"
status "a change elsewhere in the file still warns" 0 "warning: .*0499cef6b57a" -- "$pf" db --migrations "$work/applied" current

# Autogenerate prints the findings of the revision it wrote, and succeeds.
export DATABASE_URL="sqlite:///$work/auto.db"
mkdir -p "$work/auto/versions"
cp "$source_dir"/migrations/versions/*.json "$work/auto/versions/"
"$pf" db --migrations "$work/auto" upgrade head >/dev/null
"$pf" schema --json | sed 's/"name": "description",/"name": "summary",/' > "$work/declared.json"
status "autogenerate prints the lint findings of what it wrote" 0 \
  "^Generating " "^lint: upgrade.[0-9] drop_column bakery.description: dropping-column" \
  -- "$pf" db --migrations "$work/auto" revision --autogenerate -m "rename description" --schema "$work/declared.json"

if [ "$failures" -eq 0 ]; then echo "db lint: all passed"; else echo "db lint: $failures failed"; fi
exit $((failures > 0))
