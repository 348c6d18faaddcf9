#!/usr/bin/env bash
# Runs through the whole path, end to end: `pangeo-forge serve` on a fresh database, N queued
# runs, and real `pangeo-forge worker --once` processes whose command is `true`, until the
# queue is empty. Prints
#   - runs/s with 4 workers (each claiming one run at a time), and
#   - the worker's per-run overhead (claim, spawn, wait, report) with 1 worker, in ms,
#     beside the cost of spawning `true` alone, measured in the same run;
# and checks that every run completed with success exactly once (a fast wrong answer fails).
#
#   bash bench/dispatch_http.sh BUILD_DIR            # SQLite file
#   PANGEO_FORGE_BENCH_POSTGRES_URL=postgresql://... bash bench/dispatch_http.sh BUILD_DIR
#   (DISPATCH_RUNS: runs for the 4-worker figure, 2000; the 1-worker figure uses a quarter;
#    run it under the build lock so that builds do not disturb the figures)
set -euo pipefail
if [ $# -lt 1 ]; then
  echo "usage: [PANGEO_FORGE_BENCH_POSTGRES_URL=postgresql://...] bash $0 BUILD_DIR" >&2
  exit 2
fi
pf=$1/pangeo-forge
[ -x "$pf" ] || { echo "no pangeo-forge in $1" >&2; exit 2; }
runs=${DISPATCH_RUNS:-2000}
python=/usr/bin/python3
work=$(mktemp -d /tmp/pangeo_forge_dispatch.XXXXXX)
server_pid=""
drop_sql=""
base_url=${PANGEO_FORGE_BENCH_POSTGRES_URL:-}

cleanup() {
  [ -n "$server_pid" ] && { kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; }
  [ -n "$drop_sql" ] && psql -q "$base_url" -c "$drop_sql" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export PANGEO_FORGE_API_KEY=bench-key
export PGOPTIONS="-c client_min_messages=warning"

# fresh_database NAME: prints the URL of an empty database (a SQLite file, or a schema of
# the PostgreSQL server) at head.
fresh_database() {
  local name=$1 url
  if [ -z "$base_url" ]; then
    url="sqlite:///$work/$name.db"
  else
    psql -q "$base_url" -c "CREATE SCHEMA $name" >/dev/null
    drop_sql="${drop_sql:+$drop_sql; }DROP SCHEMA $name CASCADE"
    local separator='?'; [[ "$base_url" == *\?* ]] && separator='&'
    url="${base_url}${separator}options=-c%20search_path%3D$name"
  fi
  "$pf" db --url "$url" upgrade head >/dev/null
  echo "$url"
}

# serve URL: starts the server on a free port; sets `server` to its address.
serve() {
  "$pf" serve --url "$1" --port 0 2>"$work/serve.log" &
  server_pid=$!
  for _ in $(seq 100); do
    server=$(sed -n 's/^serving .* on \(http:[^ ]*\)$/\1/p' "$work/serve.log")
    [ -n "$server" ] && return 0
    sleep 0.05
  done
  echo "the server did not start:" >&2; cat "$work/serve.log" >&2; exit 1
}

stop_server() { kill "$server_pid"; wait "$server_pid" || true; server_pid=""; }

api() { "$pf" api --server "$server" "$@" >/dev/null; }

# queue COUNT: a bakery, a feedstock and COUNT queued runs, through the API.
queue() {
  api POST /bakeries/ --data '{"region": "local", "name": "bench", "description": "bench"}'
  api POST /feedstocks/ --data '{"spec": "pangeo-forge/bench-feedstock"}'
  "$python" - "$server" "$1" <<'PY'
import json, sys, urllib.request
server, count = sys.argv[1], int(sys.argv[2])
body = {"recipe_id": "r", "bakery_id": 1, "feedstock_id": 1, "head_sha": "abc", "version": "1.0",
        "started_at": "2021-01-01T00:00:00Z"}
for i in range(count):
    request = urllib.request.Request(server + "/recipe_runs/", json.dumps(body).encode(), method="POST",
                                     headers={"content-type": "application/json", "x-api-key": "bench-key"})
    urllib.request.urlopen(request).read()
PY
}

# drain WORKERS: runs WORKERS `worker --once` processes until the queue is empty; prints the
# seconds it took.
drain() {
  local start end pids=() i
  start=$(date +%s.%N)
  for i in $(seq "$1"); do
    "$pf" worker --server "$server" --bakery bench --once -- true >"$work/worker$i.log" 2>&1 &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || { echo "a worker failed:" >&2; cat "$work"/worker*.log >&2; exit 1; }; done
  end=$(date +%s.%N)
  "$python" -c "print(f'{$end - $start:.3f}')"
}

# check COUNT: every run completed with success, none left.
check() {
  "$python" - "$server" "$1" <<'PY'
import json, sys, urllib.request
server, count = sys.argv[1], int(sys.argv[2])
total = json.load(urllib.request.urlopen(server + "/stats/recipe_runs"))["count"]
runs, offset = [], 0
while True:
    page = json.load(urllib.request.urlopen(f"{server}/recipe_runs/?limit=100&offset={offset}"))
    runs += page
    offset += 100
    if len(page) < 100:
        break
wrong = [r["id"] for r in runs if r["status"] != "completed" or r["conclusion"] != "success"]
if total != count or wrong:
    sys.exit(f"expected {count} runs completed with success; {total} runs, not so: {wrong[:10]}")
PY
}

# Spawning `true` alone, for comparison with the per-run overhead.
spawn_ms=$("$python" - <<'PY'
import subprocess, time
n = 200
start = time.perf_counter()
for _ in range(n):
    subprocess.run(["true"], check=True)
print(f"{(time.perf_counter() - start) * 1000 / n:.2f}")
PY
)

backend=$([ -z "$base_url" ] && echo sqlite || echo postgresql)
echo "backend: $backend"

serve "$(fresh_database dispatch_bench_4_$$)"
queue "$runs"
seconds=$(drain 4)
check "$runs"
stop_server
echo "4 workers, $runs runs of 'true': $seconds s, $("$python" -c "print(f'{$runs / $seconds:.0f}')") runs/s"

one=$((runs / 4))
serve "$(fresh_database dispatch_bench_1_$$)"
queue "$one"
seconds=$(drain 1)
check "$one"
stop_server
echo "1 worker, $one runs: $("$python" -c "print(f'{$seconds * 1000 / $one:.2f}')") ms per run (claim to report), of which spawning 'true' alone: $spawn_ms ms"
