#!/usr/bin/env bash
# Runs the C++ suites under sanitizers, each database suite on SQLite and on PostgreSQL:
# all of them under ASan+UBSan (build-asan/), and those that run threads (the pool's, the
# HTTP server's, the dispatch queue's concurrent claimers and lease sweeper) under TSan
# (build-tsan/). Starts a throwaway PostgreSQL unless
# PANGEO_FORGE_TEST_POSTGRES_URL names a server. pytest is not run: Python itself is not
# instrumented.
set -euo pipefail
project_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$project_root/scripts/lib/deps.sh"
source "$project_root/scripts/lib/postgres.sh"

# Configures $1 with the sanitizers $2 and builds the targets that follow (all if none).
# Debug, so at -O0: GCC takes three times as long to instrument at -O1 (10 s against 30 s
# for orchestrator.cpp), and the suites wait on their databases more than on the CPU.
# -g1: line tables and functions, all a sanitizer's report needs for file:line, and about
# 15% less compile time than -g (orchestrator.cpp under ASan: 10.9 s against 12.6 s).
sanitized_build() {
  local build_dir=$1 sanitizers=$2
  shift 2
  cmake -S "$project_root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g1 \
    -DPANGEO_FORGE_SANITIZE="$sanitizers" \
    -DPANGEO_FORGE_BUILD_TESTS=ON -DPANGEO_FORGE_BUILD_EXAMPLES=OFF >/dev/null
  local targets=()
  [ $# -eq 0 ] || targets=(--target "$@")
  cmake --build "$build_dir" -j2 "${targets[@]}"
  echo "sanitize.sh: $build_dir built at ${SECONDS} s"
}

install_missing_packages "${pangeo_forge_test_packages[@]}"
if [ -z "${PANGEO_FORGE_TEST_POSTGRES_URL:-}" ]; then
  start_throwaway_postgres
fi

# float-cast-overflow is not part of GCC's `undefined`: a double beyond an integer's range
# converted to it (request bodies bring such numbers).
sanitized_build "$project_root/build-asan" address,undefined,float-cast-overflow
(cd "$project_root/build-asan" &&
  ASAN_OPTIONS=detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1 \
  UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j2)

threaded_suites=(test_database test_server test_dispatch)
sanitized_build "$project_root/build-tsan" thread "${threaded_suites[@]}"
(cd "$project_root/build-tsan" && ctest --output-on-failure -j2 -R "^($(IFS='|'; echo "${threaded_suites[*]}"))\.")
