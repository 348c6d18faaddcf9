# The Python package, installed the way a user installs it: `pip install .` into a venv.
# Sourced by scripts/test.sh.

# Creates the venv $1 (with the system's site packages, for Debian's pytest) if it is not
# there, and installs this source tree into it with plain `pip install .`. The CMake build
# folder of the wheel persists under build/, so a second run rebuilds only what changed.
install_python_package() {
  local venv=$1
  [ -x "$venv/bin/python" ] || /usr/bin/python3 -m venv --system-site-packages "$venv"
  local log
  log=$(mktemp)
  if ! (cd "$project_root" && CMAKE_BUILD_PARALLEL_LEVEL=2 "$venv/bin/pip" install --disable-pip-version-check \
        --force-reinstall --no-deps . >"$log" 2>&1); then
    cat "$log"
    rm -f "$log"
    return 1
  fi
  rm -f "$log"
  echo "installed $("$venv/bin/python" -c 'import pangeo_forge as pf; print("pangeo_forge", pf.__version__, "in", pf.__file__)')"
}
