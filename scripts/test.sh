#!/usr/bin/env bash
# Runs every test: installs what is missing (Debian packages), builds, installs the Python
# package into build/venv with `pip install .`, starts a throwaway PostgreSQL on 127.0.0.1
# (unless PANGEO_FORGE_TEST_POSTGRES_URL already names a server), and runs the suites with
# CTest (the C++ suites and pytest), each database suite once on SQLite and once on PostgreSQL.
set -euo pipefail
project_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$project_root/scripts/lib/deps.sh"
source "$project_root/scripts/lib/postgres.sh"
source "$project_root/scripts/lib/python.sh"

install_missing_packages "${pangeo_forge_python_packages[@]}" "${pangeo_forge_test_packages[@]}" ccache
# The wheel's build and build/ compile the library's same sources with the same flags: built
# with the build type of build/ and through ccache, the second compiles little. ccache
# writes paths relative to the build folder (CCACHE_BASEDIR) and ignores the folder itself
# (CCACHE_NOHASHDIR): the wheel's folder, build-wheel/, sits at build/'s depth so that the
# relative paths, and with them the cache entries, are the same.
export CMAKE_CXX_COMPILER_LAUNCHER=ccache CCACHE_BASEDIR="$project_root" CCACHE_NOHASHDIR=1
export CCACHE_DIR=${CCACHE_DIR:-$project_root/build/ccache}
PANGEO_FORGE_BUILD_TYPE=RelWithDebInfo PANGEO_FORGE_BUILD_DIR="$project_root/build-wheel" \
  install_python_package "$project_root/build/venv"
echo "test.sh: the wheel installed at ${SECONDS} s"
build_project "$project_root/build" -DPANGEO_FORGE_BUILD_TESTS=ON \
  -DPANGEO_FORGE_TEST_PYTHON="$project_root/build/venv/bin/python"
if [ -z "${PANGEO_FORGE_TEST_POSTGRES_URL:-}" ]; then
  start_throwaway_postgres
fi
echo "test.sh: build/ built at ${SECONDS} s"
cd "$project_root/build"
ctest --output-on-failure -j2
echo "test.sh: tests passed at ${SECONDS} s"
bash "$project_root/scripts/fuzz.sh" 15  # each fuzz target for 15 s, in build-fuzz/ (clang); README.md "Fuzzing"
