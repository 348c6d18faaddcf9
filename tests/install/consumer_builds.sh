#!/usr/bin/env bash
# Installs the built project into a temporary prefix, then builds examples/ as a project
# of its own that finds the library with find_package(pangeo_forge CONFIG REQUIRED), and
# runs it on a fresh SQLite file: what a user's build does.
set -euo pipefail
build_dir=$1
source_dir=$2
work=$(mktemp -d /tmp/pangeo_forge_consumer.XXXXXX)
trap 'rm -rf "$work"' EXIT

cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
test -f "$work/prefix/include/pangeo_forge/pangeo_forge.hpp"
test -f "$work/prefix/lib/cmake/pangeo_forge/pangeo_forgeConfig.cmake" ||
  test -f "$work/prefix/lib/x86_64-linux-gnu/cmake/pangeo_forge/pangeo_forgeConfig.cmake"
# Public headers must not need SOCI: no installed header may include it.
if grep -rq "soci" "$work/prefix/include/pangeo_forge"; then
  echo "an installed header mentions SOCI" >&2
  exit 1
fi
cmake -S "$source_dir/examples" -B "$work/examples" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/examples" -j2 >/dev/null
test -f "$work/prefix/share/pangeo_forge/migrations/versions/0499cef6b57a_remove_api_keys.json"
cd "$work"
DATABASE_URL="sqlite:///consumer.db" "$work/examples/database_overview"
# The installed migrations, not the source tree's.
PANGEO_FORGE_MIGRATIONS="$work/prefix/share/pangeo_forge/migrations" DATABASE_URL="sqlite:///consumer.db" \
  "$work/examples/migrate_database"
test -f "$work/consumer.db"
