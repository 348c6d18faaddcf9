#!/usr/bin/env bash
# Installs the Debian packages that building pangeo_forge needs (the C++ library, the
# command, the Python module) and that its tests use. Needs root or sudo.
set -euo pipefail
project_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$project_root/scripts/lib/deps.sh"
install_missing_packages "${pangeo_forge_python_packages[@]}" "${pangeo_forge_test_packages[@]}"
