#!/usr/bin/env bash
# The `pangeo-forge db` verbs end to end, on a SQLite file: what an operator types.
# Usage: db_verbs.sh PANGEO_FORGE_BINARY SOURCE_DIR
set -euo pipefail
pf=$1
source_dir=$2
work=$(mktemp -d /tmp/pangeo_forge_cli.XXXXXX)
trap 'rm -rf "$work"' EXIT
export DATABASE_URL="sqlite:///$work/forge.db"
failures=0

source "$(dirname "${BASH_SOURCE[0]}")/checks.sh"

status "current on a missing file says so" 3 "there is no SQLite database at $work/forge.db \(the URL came from DATABASE_URL\)" \
  "$pf" db current
[ ! -e "$work/forge.db" ] || { echo "FAIL: current created $work/forge.db"; failures=$((failures + 1)); }
status "--dialect without --sql is refused before migrating" 2 "--dialect only applies with --sql" \
  "$pf" db upgrade head --dialect postgresql
[ ! -e "$work/forge.db" ] || { echo "FAIL: upgrade --dialect created $work/forge.db"; failures=$((failures + 1)); }
expect "upgrade prints a line per revision with its duration" \
  "Running upgrade 70bcddc9fffa -> 0499cef6b57a, remove api keys \([0-9.]+ ms\)" "$pf" db upgrade head
expect "current marks the head" "^a453b710a63a \(head\), add github app records" "$pf" db current
expect "upgrade at head has nothing to do" "Nothing to do" "$pf" db upgrade head
expect "history marks head and current" "b51d1daaff02 -> a453b710a63a \(head\) \(current\)" \
  "$pf" db history -r base:current
expect "verbose history shows parents" "Parent: 81c7d27bde71" "$pf" db history --verbose
expect "show lists the operations" "alter_column reciperun.status" "$pf" db show 0499
expect "heads" "^a453b710a63a \(head\)$" "$pf" db heads
expect "downgrade -1" "Running downgrade a453b710a63a -> b51d1daaff02" "$pf" db downgrade -1
expect "downgrade base" "Running downgrade 81c7d27bde71 -> base" "$pf" db downgrade base
expect "current after downgrade base is base, not never migrated" "^\(base: no revision applied\)$" "$pf" db current
"$pf" db upgrade b51d1daaff02 >/dev/null
expect "stamp" "^a453b710a63a \(head\)" "$pf" db stamp head
expect "offline sql for postgresql" "ALTER TABLE \"reciperun\" ALTER COLUMN \"status\" SET NOT NULL" \
  "$pf" db upgrade 70bcddc9fffa:head --sql --dialect postgresql
refuse "unknown revision" "there is no revision 'feedbeef'" "$pf" db upgrade feedbeef
refuse "bad dialect" "--dialect must be sqlite or postgresql" "$pf" db upgrade head --sql --dialect oracle
refuse "unsupported url" "scheme 'mysql' is not supported" "$pf" db --url mysql://u@h/db current
# Numbers out of range in a target or a URL option are refused, naming them; none aborts.
refuse "a step count beyond int" "'\+2147483648' .*steps" "$pf" db upgrade +2147483648
refuse "a negative step count beyond int" "'-2147483648' .*steps" "$pf" db downgrade -2147483648
refuse "a relative step from a revision beyond int" "'0499cef6b57a\+99999999999' .*steps" \
  "$pf" db upgrade 0499cef6b57a+99999999999
refuse "head-N beyond int" "'head-4294967296' .*steps" "$pf" db downgrade head-4294967296
for timeout in 1e-400 1e400 -1 abc 99999999999999999999999; do
  refuse "sqlite timeout=$timeout" "option timeout='$timeout' is not valid: use a number of seconds" \
    "$pf" db --url "sqlite:///$work/forge.db?timeout=$timeout" current
done
refuse "a port beyond 65535" "--port.*65535" timeout 10 "$pf" serve --port 70000
refuse "a port beyond int" "--port" timeout 10 "$pf" serve --port 99999999999
refuse "no threads" "--threads.*1" timeout 10 "$pf" serve --port 0 --threads 0
refuse "threads beyond int" "--threads" timeout 10 "$pf" serve --port 0 --threads 99999999999
# A revision file with a number beyond double, or a constraint on a column the table lacks.
mkdir -p "$work/broken/versions"
echo '{"revision": "a1", "create_date": 1e400, "upgrade": [], "downgrade": []}' > "$work/broken/versions/a1_x.json"
refuse "create_date 1e400" "a1_x.json: create_date: the number 1e400 is out of range" \
  "$pf" db --migrations "$work/broken" heads
echo '{"revision": "a1", "upgrade": [{"op": "create_table", "table": {"name": "t", "columns": [{"name": "id", "type": "integer"}],
  "primary_key": {"columns": ["ib"]}}}], "downgrade": []}' > "$work/broken/versions/a1_x.json"
refuse "a primary key on a missing column" "a1_x.json is not a valid revision file:.*" \
  "$pf" db --migrations "$work/broken" heads
refuse "a primary key on a missing column names the field" "upgrade.0.table.primary_key.columns.0: 'ib' is not a column of table t" \
  "$pf" db --migrations "$work/broken" heads

# Authoring, in a copy of the migrations: a revision, a second head, the refusal, a merge.
mkdir -p "$work/migrations/versions"
cp "$source_dir"/migrations/versions/*.json "$work/migrations/versions/"
m=(--migrations "$work/migrations")
expect "revision writes a file on the head" "Generating .*_add_bakery_index.json" "$pf" db "${m[@]}" revision -m "add bakery index"
new=$(ls "$work"/migrations/versions/*_add_bakery_index.json)
grep -q '"down_revision": "a453b710a63a"' "$new" || { echo "FAIL: new revision does not build on the head"; failures=$((failures + 1)); }
# A second branch from the old head makes two heads.
sed -e 's/"revision": "[0-9a-f]*"/"revision": "aaaabbbbcccc"/' -e 's/add bakery index/other branch/' "$new" \
  > "$work/migrations/versions/aaaabbbbcccc_other_branch.json"
expect "two heads" "aaaabbbbcccc \(head\)" "$pf" db "${m[@]}" heads
expect "branches shows the branch point" "a453b710a63a \(branchpoint\)" "$pf" db "${m[@]}" branches
refuse "upgrade head with two heads names them" "2 heads .*merge" "$pf" db "${m[@]}" upgrade head
refuse "revision with two heads asks for a merge" "pangeo-forge db merge" "$pf" db "${m[@]}" revision -m more
refuse "revision with two heads asks for --head" "pass --head" "$pf" db "${m[@]}" revision -m more
expect "revision --head on one of two heads" "Generating .*/on_other_on_the_other_branch.json" \
  "$pf" db "${m[@]}" revision -m "on the other branch" --head aaaa --rev-id on_other --branch-label other \
  --branch-label second --depends-on 0499
grep -q '"down_revision": "aaaabbbbcccc"' "$work"/migrations/versions/on_other_*.json &&
  grep -q '"0499cef6b57a"' "$work"/migrations/versions/on_other_*.json &&
  grep -q '"second"' "$work"/migrations/versions/on_other_*.json ||
  { echo "FAIL: --head/--rev-id/--branch-label/--depends-on not in the file"; failures=$((failures + 1)); }
expect "the new revision is a head, under its branch names" "^on_other \(other, second\) \(head\)" "$pf" db "${m[@]}" heads
status "--head in the middle needs --splice" 1 "revision 0499cef6b57a is not a head .*add --splice" \
  "$pf" db "${m[@]}" revision -m side --head 0499
status "a taken branch label is refused, naming its revision" 1 "the branch label 'other' is taken by revision on_other" \
  "$pf" db "${m[@]}" revision -m again --head other@head --branch-label other
status "a taken --rev-id is refused" 1 "there is a revision on_other already" \
  "$pf" db "${m[@]}" revision -m again --head other@head --rev-id on_other
status "a malformed --rev-id is refused as usage" 2 "the revision id 'no-dash' is not valid" \
  "$pf" db "${m[@]}" revision -m again --head other@head --rev-id no-dash
status "a --rev-id that is a branch label is refused" 1 "the revision id 'other' is the branch label of on_other" \
  "$pf" db "${m[@]}" revision -m again --head other@head --rev-id other
status "a --rev-id that is a target's word is refused as usage" 2 "the revision id 'head' is a word of targets" \
  "$pf" db "${m[@]}" revision -m again --head other@head --rev-id head
status "a branch label that is a target's word is refused as usage" 2 "the branch label 'heads' is not valid" \
  "$pf" db "${m[@]}" revision -m again --head other@head --branch-label heads
status "a branch label that reads as a step is refused as usage" 2 "the branch label 'v1-2' reads as a step" \
  "$pf" db "${m[@]}" revision -m again --head other@head --branch-label v1-2
status "a message that is not UTF-8 is refused as usage" 2 "the revision message is not valid UTF-8" \
  "$pf" db "${m[@]}" revision -m "$(printf 'bad\xff')" --head other@head
status "a branch label that is not UTF-8 is refused as usage" 2 "a branch label is not valid UTF-8" \
  "$pf" db "${m[@]}" revision -m again --head other@head --branch-label "$(printf '\xfe')"
refused_stdout=$("$pf" db "${m[@]}" revision -m again --head other@head --rev-id on_other 2>/dev/null || true)
refused_merge=$("$pf" db "${m[@]}" merge -m again feedbeef 2>/dev/null || true)
if [ -n "$refused_stdout$refused_merge" ]; then
  echo "FAIL: a refused revision or merge wrote to stdout: '$refused_stdout' '$refused_merge'"; failures=$((failures + 1))
else
  echo "ok: a refused revision or merge writes nothing to stdout"
fi
expect "--splice starts a branch from the middle" "Generating .*_side.json" \
  "$pf" db "${m[@]}" revision -m side --head 0499 --splice --rev-id side_branch
"$pf" db "${m[@]}" merge -m "join side" side_branch on_other >/dev/null
expect "upgrade heads applies both branches" "Running upgrade" "$pf" db "${m[@]}" upgrade heads
expect "merge joins the heads" "Generating .*_join.json" "$pf" db "${m[@]}" merge -m join heads
expect "one head again" "\(head\)" "$pf" db "${m[@]}" heads
expect "upgrade to the merge" "Running upgrade .* -> [0-9a-f]{12}, join" "$pf" db "${m[@]}" upgrade head
expect "current is the merge, at head" "\(head\), join" "$pf" db "${m[@]}" current

# Check and autogenerate, against a declared schema that adds a column to bakery.
unset DATABASE_URL
export DATABASE_URL="sqlite:///$work/check.db"
status "check on a missing file cannot check: 3" 3 "there is no SQLite database" "$pf" db check
"$pf" db stamp base >/dev/null
status "check refuses a database not at head: 1" 1 "has no migration applied" "$pf" db check
"$pf" db upgrade head >/dev/null
expect "check passes at head" "matches the declared schema" "$pf" db check
"$pf" schema --json | sed 's/"name": "description",/"name": "summary",/' > "$work/declared.json"
status "check lists the differences and exits 1" 1 "column bakery.summary is declared but not in the database" \
  "$pf" db check --schema "$work/declared.json"
status "check with an unreadable --schema exits 3" 3 "cannot read the schema file" \
  "$pf" db check --schema "$work/no-such-schema.json"
status "a malformed DATABASE_URL is a usage error" 2 "scheme 'mysql' is not supported.*came from --url" \
  "$pf" db --url mysql://u@h/db check
mkdir -p "$work/auto/versions"
cp "$source_dir"/migrations/versions/*.json "$work/auto/versions/"
a=(--migrations "$work/auto")
expect "autogenerate with nothing to do writes nothing" "No changes" "$pf" db "${a[@]}" revision --autogenerate -m none
expect "autogenerate warns of the dropped column" "warning: destroys data: drop_column bakery.description" \
  "$pf" db "${a[@]}" revision --autogenerate -m "rename description" --schema "$work/declared.json"
expect "the file notes a possible rename" "rename_column.*new_name.*summary" \
  cat "$work"/auto/versions/*_rename_description.json
refuse "autogenerate refuses a database below the new head" "not at the head" \
  "$pf" db "${a[@]}" revision --autogenerate -m "again" --schema "$work/declared.json"
expect "the generated revision applies" "Running upgrade" "$pf" db "${a[@]}" upgrade heads
expect "reflect prints the tables as JSON" "\"name\": \"reciperun\"" "$pf" db reflect

# How a run waits for locks: options, then the URL, then the environment; bad values are usage errors.
live="sqlite:///$work/live.db"
status "a lock timeout without its unit is refused" 2 "--lock-timeout is '5', which is no duration" \
  "$pf" db --url "$live" upgrade head --lock-timeout 5
status "a bad lock timeout in the URL is refused, naming the key" 2 "the URL's lock_timeout is 'soon'" \
  "$pf" db --url "$live?lock_timeout=soon" upgrade head
status "a bad count in the environment is refused, naming the variable" 2 "PANGEO_FORGE_LOCK_RETRIES is 'many'" \
  env PANGEO_FORGE_LOCK_RETRIES=many "$pf" db --url "$live" upgrade head
status "the option wins over the environment" 0 "Running upgrade base -> 81c7d27bde71" \
  env PANGEO_FORGE_LOCK_TIMEOUT=junk "$pf" db --url "$live?lock_retries=2" upgrade head --lock-timeout 1s --no-online
expect "offline sql sets the lock timeout it was given" "SET lock_timeout = '5000ms'" \
  "$pf" db upgrade base:head --sql --dialect postgresql --lock-timeout 5s
expect "offline sql shows the concurrent index build" "CREATE INDEX CONCURRENTLY IF NOT EXISTS" \
  "$pf" db upgrade base:head --sql --dialect postgresql
status "--no-online writes the index as it is" 1 "" \
  sh -c '"$0" db upgrade base:head --sql --dialect postgresql --no-online | grep CONCURRENTLY' "$pf"

# The API's routes from the command line, against the database at head.
export DATABASE_URL="sqlite:///$work/api.db" PANGEO_FORGE_API_KEY="first-key,second-key"
refuse "api refuses a database not at head" "pangeo-forge db upgrade head" "$pf" api GET /
"$pf" db upgrade head >/dev/null
expect "api GET /" "\"status\": \"ok\"" "$pf" api GET /
expect "api POST creates with the configured key" "\"id\": 1" \
  "$pf" api POST /bakeries/ --data '{"region": "us-central1", "name": "b", "description": "d"}'
expect "api GET reads the page" "\"name\": \"b\"" "$pf" api GET "/bakeries/?limit=10&sort=desc"
refuse "api exits 1 on a 404" "Bakery not found" "$pf" api GET /bakeries/9
refuse "api exits 1 on a wrong key" "Invalid API Key" "$pf" api DELETE /bakeries/1 --key wrong
expect "api stats" "\"count\": 1" "$pf" api GET /stats/bakeries

if [ "$failures" -eq 0 ]; then echo "db verbs: all passed"; else echo "db verbs: $failures failed"; fi
exit $((failures > 0))
