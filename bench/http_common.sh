# shellcheck shell=bash
# Sourced by bench/http_reads.sh and bench/http_memory.sh: a fresh PostgreSQL database at
# head seeded with a bakery, a feedstock and 1,000 recipe runs; servers started on free
# ports; everything started here stopped, and the database dropped, on exit.
#
# The server is whatever `pangeo-forge serve` BUILD_DIR holds, so the scripts can be rerun
# on any build. The base database comes from PANGEO_FORGE_BENCH_POSTGRES_URL: a database of
# its own is created when its role may (CREATE DATABASE), else a schema.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
python=/usr/bin/python3  # Debian's, where apt puts FastAPI, SQLModel and uvicorn

if [ $# -lt 1 ] || [ -z "${PANGEO_FORGE_BENCH_POSTGRES_URL:-}" ]; then
  echo "usage: PANGEO_FORGE_BENCH_POSTGRES_URL=postgresql://... bash $0 BUILD_DIR" >&2
  exit 2
fi
pf=$1/pangeo-forge
[ -x "$pf" ] || pf=$1/apps/pangeo-forge
[ -x "$pf" ] || { echo "no pangeo-forge in $1 or $1/apps" >&2; exit 2; }

base_url=$PANGEO_FORGE_BENCH_POSTGRES_URL
work=$(mktemp -d /tmp/pangeo_forge_http.XXXXXX)
started=()    # pids of the servers, stopped on exit
drop_sql=""   # what removes the database or schema made for this run

cleanup() {
  local pid
  for pid in "${started[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${started[@]}"; do wait "$pid" 2>/dev/null || true; done
  [ -n "$drop_sql" ] && psql -q "$base_url" -c "$drop_sql" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export PGOPTIONS="-c client_min_messages=warning"
name=bench_http_$$
if psql -q "$base_url" -c "CREATE DATABASE $name" >/dev/null 2>&1; then
  drop_sql="DROP DATABASE $name WITH (FORCE)"
  database_url=$("$python" -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$base_url" "$name")
else
  psql -q "$base_url" -c "CREATE SCHEMA $name" >/dev/null
  drop_sql="DROP SCHEMA $name CASCADE"
  separator='?'; [[ "$base_url" == *\?* ]] && separator='&'
  database_url="${base_url}${separator}options=-c%20search_path%3D$name"
fi

"$pf" db --url "$database_url" upgrade head >/dev/null
# Runs in every state a client sees: queued, in progress, completed with and without a
# dataset; some fields null, some not.
psql -q "$database_url" >/dev/null <<'SQL'
INSERT INTO bakery (region, name, description) VALUES ('us-central1', 'ldeo', 'The LDEO bakery on GCP');
INSERT INTO feedstock (spec, provider) VALUES ('pangeo-forge/noaa-oisst-avhrr-only-feedstock', 'github');
INSERT INTO reciperun (recipe_id, bakery_id, feedstock_id, head_sha, version, started_at, completed_at,
                       conclusion, status, message, is_test, dataset_type, dataset_public_url)
SELECT 'noaa-oisst-avhrr-only', 1, 1, md5(i::text), '1.' || (i % 10),
       timestamp '2022-01-01' + i * interval '1 hour',
       CASE WHEN i % 3 = 0 THEN timestamp '2022-01-01' + i * interval '1 hour' + interval '25 minutes' END,
       CASE WHEN i % 3 = 0 THEN CASE WHEN i % 2 = 0 THEN 'success' ELSE 'failure' END END,
       CASE i % 3 WHEN 0 THEN 'completed' WHEN 1 THEN 'in_progress' ELSE 'queued' END,
       CASE WHEN i % 5 = 0 THEN 'run ' || i || ' of the nightly build' END,
       i % 4 = 0,
       CASE WHEN i % 6 = 0 THEN 'zarr' END,
       CASE WHEN i % 6 = 0 THEN 'https://ncsa.osn.xsede.org/Pangeo/pangeo-forge/noaa-oisst-' || i || '.zarr' END
FROM generate_series(1, 1000) AS i;
SQL

free_port() {
  "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_until_serving PORT PID: until GET / answers, or fail if PID has exited.
wait_until_serving() {
  local _
  for _ in $(seq 300); do
    curl -sf -o /dev/null "http://127.0.0.1:$1/" && return 0
    kill -0 "$2" 2>/dev/null || { echo "the server on port $1 exited; its log:" >&2; cat "$work"/*.log >&2; exit 1; }
    sleep 0.1
  done
  echo "nothing answers on port $1 after 30 s" >&2
  exit 1
}

# start_ours PORT [ARGS...]: `pangeo-forge serve` in the background; sets server_pid.
start_ours() {
  local port=$1; shift
  "$pf" serve --url "$database_url" --host 127.0.0.1 --port "$port" "$@" 2>"$work/ours.log" &
  server_pid=$!
  started+=("$server_pid")
  wait_until_serving "$port" "$server_pid"
}

# start_uvicorn PORT WORKERS: the SQLModel service under uvicorn at its fastest (uvloop,
# httptools, no access log); sets server_pid.
start_uvicorn() {
  DATABASE_URL=$database_url "$python" -m uvicorn sqlmodel_service.app:app --app-dir "$here" \
    --host 127.0.0.1 --port "$1" --workers "$2" --loop uvloop --http httptools --no-access-log \
    2>"$work/uvicorn-$1.log" &
  server_pid=$!
  started+=("$server_pid")
  wait_until_serving "$1" "$server_pid"
}
