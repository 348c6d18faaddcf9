#!/usr/bin/env bash
# Runs every test: installs what is missing (Debian packages), builds, starts a throwaway
# PostgreSQL on 127.0.0.1 (unless PANGEO_FORGE_TEST_POSTGRES_URL already names a server),
# and runs the suites with CTest, each database suite once on SQLite and once on PostgreSQL.
set -euo pipefail
project_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$project_root/scripts/lib/deps.sh"
source "$project_root/scripts/lib/postgres.sh"

install_missing_packages
build_project "$project_root/build" -DPANGEO_FORGE_BUILD_TESTS=ON
if [ -z "${PANGEO_FORGE_TEST_POSTGRES_URL:-}" ]; then
  start_throwaway_postgres
fi
cd "$project_root/build"
ctest --output-on-failure -j2
