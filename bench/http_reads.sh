#!/usr/bin/env bash
# Reads over HTTP on PostgreSQL, in one run: `pangeo-forge serve` (its default threads)
# against the Python service's routes (bench/sqlmodel_service/app.py) under uvicorn with one
# worker process and with two (the machine's cores), on the same seeded database. Checks
# that both answer the same JSON (parsed) for a run and for a page, then runs wrk -t2 -c8 on
#   GET /recipe_runs/{id}          one run with its bakery and feedstock
#   GET /recipe_runs/?limit=100    a page of 100 runs
# (a 2 s warm-up each, then rounds that alternate between the servers) and prints the
# median requests/s and the ratios.
#
#   PANGEO_FORGE_BENCH_POSTGRES_URL=postgresql://... bash bench/http_reads.sh BUILD_DIR
#   (HTTP_READS_DURATION: of each wrk run, 10s; HTTP_READS_ROUNDS: 3)
#   (needs wrk, curl, psql, python3-fastapi, python3-sqlmodel, python3-uvicorn,
#    python3-psycopg2, python3-uvloop, python3-httptools; run it under the build lock)
source "$(dirname "${BASH_SOURCE[0]}")/http_common.sh" "$@"

duration=${HTTP_READS_DURATION:-10s}
rounds=${HTTP_READS_ROUNDS:-3}
routes=("/recipe_runs/500" "/recipe_runs/?limit=100")

# same_json PORT_A PORT_B PATH: both servers answer PATH with the same JSON.
same_json() {
  "$python" - "$@" <<'PY'
import json, sys, urllib.request
a, b, path = sys.argv[1:]
ours, theirs = (json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}{path}")) for port in (a, b))
if ours != theirs:
    sys.exit(f"{path}: the answers differ\n  ours:   {json.dumps(ours)[:2000]}\n  uvicorn: {json.dumps(theirs)[:2000]}")
print(f"{path}: same JSON ({len(ours) if isinstance(ours, list) else 1} run(s))")
PY
}

# rate PORT PATH: requests/s of wrk -t2 -c8, then how wrk's connections were shared among
# the server's processes 1 s in (uvicorn's workers share one listening socket, and whichever
# wakes first accepts what is waiting). A failed or non-2xx request fails the run.
rate() {
  local url="http://127.0.0.1:$1$2"
  wrk -t2 -c8 -d"$duration" "$url" >"$work/wrk.out" &
  local wrk_pid=$! split
  sleep 1
  split=$(ss -Htnp state established "( sport = :$1 )" | grep -o 'pid=[0-9]*' | sort | uniq -c |
          sort -rn | awk '{printf "%s%s", (NR > 1 ? "+" : ""), $1}')
  wait "$wrk_pid"
  if grep -qE 'Non-2xx|Socket errors' "$work/wrk.out"; then
    echo "wrk on $url saw errors:" >&2; cat "$work/wrk.out" >&2; exit 1
  fi
  echo "$(awk '/^Requests\/sec:/ {print $2}' "$work/wrk.out") ${split:-?}"
}

# The three servers run side by side (an idle one costs nothing) so that the rounds can
# alternate between them: a disturbance on the machine then falls on all, not on one.
declare -A port
port[ours]=$(free_port); start_ours "${port[ours]}"
for workers in 1 2; do
  port[uvicorn$workers]=$(free_port); start_uvicorn "${port[uvicorn$workers]}" "$workers"
done
servers=(ours uvicorn1 uvicorn2)
for route in "${routes[@]}"; do same_json "${port[ours]}" "${port[uvicorn1]}" "$route"; done

declare -A rates rounds_seen  # "server route" -> the rates of the rounds, one a line; "rate (split)" each
for server in "${servers[@]}"; do
  for route in "${routes[@]}"; do
    wrk -t2 -c8 -d2s "http://127.0.0.1:${port[$server]}$route" >/dev/null  # warm-up
  done
done
for _ in $(seq "$rounds"); do
  for server in "${servers[@]}"; do
    for route in "${routes[@]}"; do
      result=$(rate "${port[$server]}" "$route")
      read -r rps split <<<"$result"
      rates[$server $route]+="$rps"$'\n'
      rounds_seen[$server $route]+=" $rps ($split)"
    done
  done
done

median() { sort -g | awk 'NF {v[++n] = $1} END {print n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2}'; }
echo
printf '%-24s %13s %14s %14s %9s %9s\n' route pangeo_forge "uvicorn 1 wkr" "uvicorn 2 wkr" "x 1 wkr" "x 2 wkr"
for route in "${routes[@]}"; do
  ours=$(median <<<"${rates[ours $route]}")
  one=$(median <<<"${rates[uvicorn1 $route]}")
  two=$(median <<<"${rates[uvicorn2 $route]}")
  awk -v r="$route" -v o="$ours" -v a="$one" -v b="$two" \
    'BEGIN {printf "%-24s %13.0f %14.0f %14.0f %9.1f %9.1f\n", r, o, a, b, o / a, o / b}'
done
echo "(requests/s, medians of $rounds rounds of wrk -t2 -c8 -d$duration; x: pangeo_forge's rate over uvicorn's)"
echo "each round: requests/s (wrk's 8 connections per server process)"
for server in "${servers[@]}"; do
  for route in "${routes[@]}"; do
    echo "  $server $route:${rounds_seen[$server $route]}"
  done
done
