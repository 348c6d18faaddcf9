#!/usr/bin/env bash
# The main job: installs what is missing (Debian packages), builds, and runs the bundled
# migration example on DATABASE_URL, by default an embedded SQLite file pangeo_forge.db in
# the current folder: it shows where the database stands, upgrades it to head, and prints
# the history.
set -euo pipefail
project_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$project_root/scripts/lib/deps.sh"

install_missing_packages
log=$(mktemp)
if ! build_project "$project_root/build" -DPANGEO_FORGE_BUILD_TESTS=OFF >"$log" 2>&1; then
  cat "$log"
  exit 1
fi
rm -f "$log"
exec "$project_root/build/examples/migrate_database"
