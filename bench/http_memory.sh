#!/usr/bin/env bash
# The memory of `pangeo-forge serve` (its default threads) on PostgreSQL, from
# /proc/PID/status: idle, with 200 open idle connections, and through hostile requests (a
# chunked 3 MB body, a chunked 100 MiB body without an API key, 64 MiB of headers, 8 slow
# clients sending a header line every 3 s while a GET / is timed, a gzip bomb of 204 KB
# inflating to 200 MiB). Prints VmRSS after each step, VmHWM (the peak) during it, and the
# status code or behaviour seen. See bench/http_hostile.py for the clients.
#
#   PANGEO_FORGE_BENCH_POSTGRES_URL=postgresql://... bash bench/http_memory.sh BUILD_DIR
#   (needs curl, psql and python3; the peak is reset per step through /proc/PID/clear_refs,
#    which takes the server's owner or root; else the peak is since start, and says so)
source "$(dirname "${BASH_SOURCE[0]}")/http_common.sh" "$@"

export PANGEO_FORGE_API_KEY=bench-http-memory-key
port=$(free_port)
start_ours "$port"
"$python" "$here/http_hostile.py" "$server_pid" "$port" "$PANGEO_FORGE_API_KEY"
