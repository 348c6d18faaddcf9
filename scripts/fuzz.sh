#!/usr/bin/env bash
# Builds the fuzz targets (fuzz/, clang's libFuzzer with AddressSanitizer and UBSan) into
# build-fuzz/ and runs each for SECONDS (default 25, what CI runs), one after another.
#
#   bash scripts/fuzz.sh                   # every target, 25 s each
#   bash scripts/fuzz.sh 3600 router       # one target for an hour
#   bash scripts/fuzz.sh 0                 # build only
#
# A target is a folder of fuzz/corpus/: its checked-in seeds. Each run starts from those
# and from what earlier runs found, kept in build-fuzz/fuzz-corpus/TARGET/, so that the
# checked-in corpus only changes by hand. A crash leaves its input in
# build-fuzz/fuzz-artifacts/ and makes the script fail after the other targets have run;
# README.md ("Fuzzing") says how to replay it.
set -euo pipefail
project_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$project_root/scripts/lib/deps.sh"

seconds=${1:-25}
shift || true
build_dir=$project_root/build-fuzz
# Far above what a target settles at (about 500 MB, most of it ASan's quarantine of freed
# memory): reaching it means memory grows with each input.
rss_limit_mb=2048

install_missing_packages clang-14 libclang-rt-14-dev
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$project_root" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-14 \
  "${launcher[@]}" -DPANGEO_FORGE_BUILD_FUZZERS=ON -DPANGEO_FORGE_BUILD_TESTS=OFF \
  -DPANGEO_FORGE_BUILD_APPS=OFF -DPANGEO_FORGE_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build_dir" --target pangeo_forge_fuzzers -j2
[ "$seconds" -gt 0 ] || exit 0

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for folder in "$project_root"/fuzz/corpus/*/; do targets+=("$(basename "$folder")"); done
fi

# UBSan stops at the first finding (-fno-sanitize-recover); the stack says where.
export UBSAN_OPTIONS=print_stacktrace=1
failed=()
for target in "${targets[@]}"; do
  corpus=$build_dir/fuzz-corpus/$target
  mkdir -p "$corpus" "$build_dir/fuzz-artifacts" "$build_dir/fuzz-logs"
  cp -L "$project_root/fuzz/corpus/$target"/* "$corpus/"  # -L: seeds may be links (revision files)
  dictionary=()
  [ -f "$project_root/fuzz/$target.dict" ] && dictionary=(-dict="$project_root/fuzz/$target.dict")
  log=$build_dir/fuzz-logs/$target.log
  echo "fuzzing $target for $seconds s (log: $log)"
  if "$build_dir/fuzz/fuzz_$target" "$corpus" "${dictionary[@]}" -max_total_time="$seconds" \
      -rss_limit_mb="$rss_limit_mb" -timeout=10 -print_final_stats=1 \
      -artifact_prefix="$build_dir/fuzz-artifacts/$target-" >"$log" 2>&1; then
    # The last status line (runs, coverage, corpus) and the average speed.
    grep -E '^#[0-9]+' "$log" | tail -1
    grep -E 'stat::(number_of_executed_units|average_exec_per_sec)' "$log"
  else
    tail -40 "$log"
    failed+=("$target")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzing found a failure in: ${failed[*]} (inputs in $build_dir/fuzz-artifacts/)"
  exit 1
fi
