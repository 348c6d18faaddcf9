#!/usr/bin/env bash
# Reads over HTTP on PostgreSQL, in one run: `pangeo-forge serve` (its default threads)
# against the Python service's routes (bench/sqlmodel_service/app.py) under uvicorn with one
# worker process, with two (the machine's cores), and as two one-worker processes with half
# the connections each, on the same seeded database. Checks that both answer the same JSON
# (parsed) for a run and for a page, then runs wrk -t2 -c8 on
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

# rate PATH PORT...: requests/s of wrk -t2 -c8 on PATH, the threads and connections shared
# evenly among the PORTs (one wrk each, rates summed), then how the connections were shared
# among the servers' processes 1 s in. A failed or non-2xx request fails the run.
rate() {
  local path=$1; shift
  local n=$# port pids=() filter=""
  for port in "$@"; do
    wrk -t$((2 / n)) -c$((8 / n)) -d"$duration" "http://127.0.0.1:$port$path" >"$work/wrk.$port.out" &
    pids+=($!)
    filter+="${filter:+ or }sport = :$port"
  done
  sleep 1
  local split
  split=$(ss -Htnp state established "( $filter )" | { grep -o 'pid=[0-9]*' || true; } | sort | uniq -c |
          sort -rn | awk '{printf "%s%s", (NR > 1 ? "+" : ""), $1}')
  wait "${pids[@]}"
  if grep -qE 'Non-2xx|Socket errors' "$work"/wrk.*.out; then
    echo "wrk on $path (ports $*) saw errors:" >&2; cat "$work"/wrk.*.out >&2; exit 1
  fi
  echo "$(awk '/^Requests\/sec:/ {sum += $2} END {print sum}' "$work"/wrk.*.out) ${split:-?}"
  rm -f "$work"/wrk.*.out
}

# uvicorn's workers share one listening socket and whichever wakes first accepts all that
# is waiting: wrk's 8 connections often all land on one of two workers (then two workers
# serve as one). Two one-worker processes with 4 connections each are two workers evenly
# loaded, what a balancer in front would give: the fairer comparison.
declare -A ports=(
  [pangeo_forge]=$(free_port) [uvicorn_1_worker]=$(free_port) [uvicorn_2_workers]=$(free_port)
  [second_uvicorn]=$(free_port))
start_ours "${ports[pangeo_forge]}"
start_uvicorn "${ports[uvicorn_1_worker]}" 1
start_uvicorn "${ports[uvicorn_2_workers]}" 2
start_uvicorn "${ports[second_uvicorn]}" 1
ports[2_uvicorns_4_conns_each]="${ports[uvicorn_1_worker]} ${ports[second_uvicorn]}"
targets=(pangeo_forge uvicorn_1_worker uvicorn_2_workers 2_uvicorns_4_conns_each)
for route in "${routes[@]}"; do same_json "${ports[pangeo_forge]}" "${ports[uvicorn_1_worker]}" "$route"; done

# The servers run side by side (an idle one costs nothing) and the rounds alternate
# between them, so that a disturbance on the machine falls on all, not on one.
declare -A rates rounds_seen  # "target route" -> each round's rate, one a line; and "rate (split)"s
for target in "${targets[@]}"; do
  read -ra target_ports <<<"${ports[$target]}"
  for route in "${routes[@]}"; do
    rate "$route" "${target_ports[@]}" >/dev/null  # warm-up
  done
done
for _ in $(seq "$rounds"); do
  for target in "${targets[@]}"; do
    read -ra target_ports <<<"${ports[$target]}"
    for route in "${routes[@]}"; do
      result=$(rate "$route" "${target_ports[@]}")
      read -r rps split <<<"$result"
      rates[$target $route]+="$rps"$'\n'
      rounds_seen[$target $route]+=" $rps ($split)"
    done
  done
done

median() { sort -g | awk 'NF {v[++n] = $1} END {print n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2}'; }
echo
echo "requests/s (medians of $rounds rounds of wrk -t2 -c8 -d$duration) and pangeo_forge's rate over each:"
for route in "${routes[@]}"; do
  echo "GET $route"
  ours=$(median <<<"${rates[pangeo_forge $route]}")
  for target in "${targets[@]}"; do
    theirs=$(median <<<"${rates[$target $route]}")
    awk -v t="$target" -v o="$ours" -v r="$theirs" 'BEGIN {printf "  %-26s %9.0f %8.1fx\n", t, r, o / r}'
  done
done
echo "each round: requests/s (wrk's connections per server process)"
for target in "${targets[@]}"; do
  for route in "${routes[@]}"; do
    echo "  $target $route:${rounds_seen[$target $route]}"
  done
done
