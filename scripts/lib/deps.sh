# Installs the Debian packages the project needs, only those missing. Sourced by the
# scripts in scripts/; needs root or sudo the first time on a fresh machine.

pangeo_forge_packages=(
  cmake g++ make
  libsoci-dev libsqlite3-dev libpq-dev libboost-dev libboost-test-dev
  nlohmann-json3-dev libhowardhinnant-date-dev libcli11-dev nettle-dev libcurl4-openssl-dev
  postgresql postgresql-client
)

# What the suites need beside the build: Alembic and psycopg2 for the test that runs
# branched histories beside Alembic (tests/migrate/alembic_parity.py).
pangeo_forge_test_packages=(python3-alembic python3-psycopg2)

# The Python module and its tests: pybind11 and CPython's headers, venv (and with it pip),
# and pytest, all from Debian.
pangeo_forge_python_packages=(pybind11-dev python3-dev python3-venv python3-pytest)

install_missing_packages() {
  local missing=()
  local package
  for package in "${pangeo_forge_packages[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Configures and builds into $1 (default build/) with two jobs: the machines have two cores.
build_project() {
  local build_dir=${1:-build}
  shift || true
  cmake -S "$project_root" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$build_dir" -j2
}
