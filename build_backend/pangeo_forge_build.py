"""The in-tree PEP 517 build backend of the pangeo_forge Python package.

No Python package index is needed: this module uses the standard library only
(pyproject.toml declares `requires = []` and `backend-path`), so a plain
`pip install .` works offline. It drives CMake to build the extension module and
the C++ library, which CMake stages as a complete package folder
(<build>/python/pangeo_forge), and writes that folder into a wheel.

Settings (environment, or pip's --config-settings):
  PANGEO_FORGE_BUILD_DIR / build-dir   the CMake build folder
                                       (default: build/python-<interpreter's SOABI>)
  CMAKE_BUILD_PARALLEL_LEVEL           compile jobs (default: the machine's cores)
  PANGEO_FORGE_BUILD_TYPE / build-type CMake's build type (default: Release)
"""

import base64
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

SOURCE = Path(__file__).resolve().parent.parent
PACKAGE = "pangeo_forge"


# --- metadata -----------------------------------------------------------------------

def _project_table():
    text = (SOURCE / "pyproject.toml").read_text(encoding="utf-8")
    try:
        import tomllib  # Python 3.11+
        return tomllib.loads(text)["project"]
    except ImportError:
        return _simple_project_table(text)


def _simple_project_table(text):
    """The [project] table's plain `key = "value"` entries, for Pythons without tomllib."""
    table, inside = {}, False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("["):
            inside = stripped == "[project]"
        elif inside and (match := re.match(r'^(\w[\w-]*)\s*=\s*"([^"]*)"', stripped)):
            table[match.group(1)] = match.group(2)
    return table


def _distribution():
    project = _project_table()
    return re.sub(r"[-_.]+", "_", project["name"]).lower(), project["version"], project


def _metadata_text():
    _, version, project = _distribution()
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {project['name']}",
        f"Version: {version}",
        f"Summary: {project.get('description', '')}",
    ]
    if "requires-python" in project:
        lines.append(f"Requires-Python: {project['requires-python']}")
    license_ = project.get("license")
    if isinstance(license_, dict) and "text" in license_:
        lines.append(f"License: {license_['text']}")
    readme = SOURCE / "README.md"
    lines.append("Description-Content-Type: text/markdown")
    return "\n".join(lines) + "\n\n" + (readme.read_text(encoding="utf-8") if readme.exists() else "")


def _wheel_tag():
    # cp311-cp311-linux_x86_64: the extension module is built for this interpreter only.
    interpreter = f"cp{sys.version_info.major}{sys.version_info.minor}"
    platform = re.sub(r"[-.]", "_", sysconfig.get_platform())
    return f"{interpreter}-{interpreter}-{platform}"


def _write_dist_info(directory):
    name, version, _ = _distribution()
    dist_info = Path(directory) / f"{name}-{version}.dist-info"
    dist_info.mkdir(parents=True, exist_ok=True)
    (dist_info / "METADATA").write_text(_metadata_text(), encoding="utf-8")
    (dist_info / "WHEEL").write_text(
        f"Wheel-Version: 1.0\nGenerator: pangeo_forge_build\nRoot-Is-Purelib: false\nTag: {_wheel_tag()}\n",
        encoding="utf-8")
    (dist_info / "top_level.txt").write_text(PACKAGE + "\n", encoding="utf-8")
    return dist_info.name


# --- the build ----------------------------------------------------------------------

def _setting(config_settings, key, variable):
    if config_settings and config_settings.get(key):
        return config_settings[key]
    return os.environ.get(variable) or None


def _run(command):
    print("+ " + " ".join(str(part) for part in command), flush=True)
    subprocess.run([str(part) for part in command], check=True, cwd=SOURCE)


def _build_package(config_settings):
    """Builds with CMake; returns the staged package folder."""
    if shutil.which("cmake") is None:
        raise RuntimeError(
            "building pangeo_forge needs cmake, a C++17 compiler and the libraries' -dev packages; "
            "on Debian run `sudo scripts/install-deps.sh` (README: Python), then pip install again")
    soabi = sysconfig.get_config_var("SOABI") or _wheel_tag()
    build_dir = Path(_setting(config_settings, "build-dir", "PANGEO_FORGE_BUILD_DIR")
                     or SOURCE / "build" / f"python-{soabi}")
    jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL") or str(os.cpu_count() or 2)
    _run(["cmake", "-S", SOURCE, "-B", build_dir,
          "-DCMAKE_BUILD_TYPE=" + (_setting(config_settings, "build-type", "PANGEO_FORGE_BUILD_TYPE") or "Release"),
          "-DPANGEO_FORGE_BUILD_PYTHON=ON",
          "-DPANGEO_FORGE_BUILD_TESTS=OFF",
          "-DPANGEO_FORGE_BUILD_EXAMPLES=OFF",
          "-DPANGEO_FORGE_BUILD_APPS=OFF",
          "-DCMAKE_BUILD_RPATH_USE_ORIGIN=ON",
          f"-DPython3_EXECUTABLE={sys.executable}"])
    _run(["cmake", "--build", build_dir, "--target", "pangeo_forge_python_package", "-j", jobs])
    stage = build_dir / "python" / PACKAGE
    if not (stage / "__init__.py").exists():
        raise RuntimeError(f"the build did not stage the package in {stage}")
    return stage


def _record_line(archive_name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{archive_name},sha256={digest},{len(data)}"


def _write_wheel(stage, wheel_directory):
    name, version, _ = _distribution()
    wheel_path = Path(wheel_directory) / f"{name}-{version}-{_wheel_tag()}.whl"
    scratch = Path(wheel_directory) / f".{name}-dist-info"
    shutil.rmtree(scratch, ignore_errors=True)
    dist_info = _write_dist_info(scratch)
    records = []
    with zipfile.ZipFile(wheel_path, "w", compression=zipfile.ZIP_DEFLATED) as wheel:
        def add(path, archive_name):
            data = path.read_bytes()
            info = zipfile.ZipInfo(archive_name, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = (path.stat().st_mode & 0o777 | 0o100000) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            wheel.writestr(info, data)
            records.append(_record_line(archive_name, data))

        for path in sorted(stage.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                add(path, f"{PACKAGE}/{path.relative_to(stage).as_posix()}")
        for path in sorted((scratch / dist_info).iterdir()):
            add(path, f"{dist_info}/{path.name}")
        records.append(f"{dist_info}/RECORD,,")
        wheel.writestr(f"{dist_info}/RECORD", "\n".join(records) + "\n")
    shutil.rmtree(scratch, ignore_errors=True)
    return wheel_path.name


# --- PEP 517 hooks ------------------------------------------------------------------

def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    return _write_dist_info(metadata_directory)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    stage = _build_package(config_settings)
    return _write_wheel(stage, wheel_directory)


def build_sdist(sdist_directory, config_settings=None):
    name, version, _ = _distribution()
    root = f"{name}-{version}"
    sdist_path = Path(sdist_directory) / f"{root}.tar.gz"
    with tarfile.open(sdist_path, "w:gz", format=tarfile.PAX_FORMAT) as sdist:
        for relative in _source_files():
            sdist.add(SOURCE / relative, arcname=f"{root}/{relative}", recursive=False)
        info = tarfile.TarInfo(f"{root}/PKG-INFO")
        data = _metadata_text().encode("utf-8")
        info.size = len(data)
        sdist.addfile(info, io.BytesIO(data))
    return sdist_path.name


def _source_files():
    """The files git tracks, or every file outside build folders when there is no git."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=SOURCE, check=True, capture_output=True).stdout
        return sorted(name for name in listed.decode().split("\0") if name and (SOURCE / name).is_file())
    except (OSError, subprocess.CalledProcessError):
        skipped = {".git", "build", "__pycache__"}
        return sorted(str(path.relative_to(SOURCE)) for path in SOURCE.rglob("*")
                      if path.is_file() and not skipped.intersection(path.relative_to(SOURCE).parts))
