#!/usr/bin/env bash
# `make test-dist-versions`: one version everywhere. The Cargo workspace,
# every crate, include/stratalog.h's STRATALOG_VERSION_* macros, the npm
# package (package.json, package-lock.json, the packed tarball), the
# Python wheel and sdist, the C tarball's name, libstratalog's file name
# and SONAME (the ABI policy in CHANGELOG.md) and stratalog_version() of
# the shipped library all agree, and CHANGELOG.md has an entry for it.
#
# Usage: tests/dist/versions.sh DIST_DIR
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DIST="$(realpath "${1:?usage: versions.sh DIST_DIR}")"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/stratalog-dist-versions.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
cd "$ROOT"

python3 - "$DIST" "$WORK" <<'PY'
import ctypes, json, pathlib, re, subprocess, sys, tarfile, tomllib, zipfile

dist, work = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
seen: dict[str, str] = {}

cargo = tomllib.loads(pathlib.Path("Cargo.toml").read_text())
version = cargo["workspace"]["package"]["version"]
seen["Cargo.toml [workspace.package]"] = version
seen["Cargo.toml stratalog-core dependency"] = cargo["workspace"]["dependencies"]["stratalog-core"]["version"]
for member in cargo["workspace"]["members"]:
    pkg = tomllib.loads(pathlib.Path(member, "Cargo.toml").read_text())["package"]
    v = pkg["version"]
    seen[f"{member}/Cargo.toml"] = version if v == {"workspace": True} else v
for name, v in re.findall(r'name = "(stratalog[-a-z]*)"\nversion = "([^"]+)"', pathlib.Path("Cargo.lock").read_text()):
    seen[f"Cargo.lock {name}"] = v

header = pathlib.Path("include/stratalog.h").read_text()
macro = lambda name: re.search(rf"^#define STRATALOG_VERSION_{name} (.*)$", header, re.M).group(1).strip('"')
major, minor, patch = (int(macro(n)) for n in ("MAJOR", "MINOR", "PATCH"))
seen["STRATALOG_VERSION_STRING"] = macro("STRING")
seen["STRATALOG_VERSION_MAJOR.MINOR.PATCH"] = f"{major}.{minor}.{patch}"
number = int(macro("NUMBER"))
seen["STRATALOG_VERSION_NUMBER"] = f"{number // 1000000}.{number // 1000 % 1000}.{number % 1000}"

node = json.loads(pathlib.Path("bindings/node/package.json").read_text())
seen["bindings/node/package.json"] = node["version"]
lock = json.loads(pathlib.Path("bindings/node/package-lock.json").read_text())
seen["bindings/node/package-lock.json"] = lock["version"]
seen["package-lock.json packages['']"] = lock["packages"][""]["version"]

with tarfile.open(dist / f"stratalog-{version}.tgz") as t:
    seen["dist npm tarball package.json"] = json.load(t.extractfile("package/package.json"))["version"]

wheels = sorted(dist.glob("stratalog-*.whl"))
assert len(wheels) == 1, wheels
seen["dist wheel name"] = wheels[0].name.split("-")[1]
with zipfile.ZipFile(wheels[0]) as z:
    meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
    seen["dist wheel METADATA"] = re.search(r"^Version: (.*)$", z.read(meta).decode(), re.M).group(1)
sdists = [p for p in dist.glob("stratalog-*.tar.gz") if "-linux-" not in p.name]
assert len(sdists) == 1, sdists
seen["dist sdist name"] = sdists[0].name[len("stratalog-"):-len(".tar.gz")]
with tarfile.open(sdists[0]) as t:
    pkg_info = t.extractfile(f"{sdists[0].name[:-len('.tar.gz')]}/PKG-INFO").read().decode()
    seen["dist sdist PKG-INFO"] = re.search(r"^Version: (.*)$", pkg_info, re.M).group(1)

ctars = sorted(dist.glob("stratalog-*-linux-*.tar.gz"))
assert len(ctars) == 1, ctars
seen["dist C tarball name"] = ctars[0].name.split("-")[1]
with tarfile.open(ctars[0]) as t:
    t.extractall(work, filter="data") if hasattr(tarfile, "data_filter") else t.extractall(work)
libdir = next(work.glob("stratalog-*/lib"))
real = [p for p in libdir.glob("libstratalog.so.*") if not p.is_symlink()]
assert len(real) == 1, real
seen["libstratalog.so.MAJOR.MINOR.PATCH file"] = real[0].name[len("libstratalog.so."):]
dynamic = subprocess.run(["readelf", "-d", str(real[0])], capture_output=True, text=True, check=True).stdout
soname = re.search(r"Library soname: \[(.*)\]", dynamic).group(1)
expected_soname = f"libstratalog.so.0.{minor}" if major == 0 else f"libstratalog.so.{major}"
lib = ctypes.CDLL(str(libdir / "libstratalog.so"))
lib.stratalog_version.restype = ctypes.c_char_p
seen["stratalog_version()"] = lib.stratalog_version().decode()
lib.stratalog_version_number.restype = ctypes.c_uint32
n = lib.stratalog_version_number()
seen["stratalog_version_number()"] = f"{n // 1000000}.{n // 1000 % 1000}.{n % 1000}"

changelog = pathlib.Path("CHANGELOG.md").read_text()
seen["CHANGELOG.md latest entry"] = re.search(r"^## (\d+\.\d+\.\d+)", changelog, re.M).group(1)

width = max(map(len, seen))
for where, v in seen.items():
    print(f"{where:<{width}}  {v}{'' if v == version else '   <-- differs'}")
print(f"{'SONAME':<{width}}  {soname}{'' if soname == expected_soname else f'   <-- expected {expected_soname}'}")
bad = [w for w, v in seen.items() if v != version]
if bad or soname != expected_soname:
    sys.exit(f"test-dist-versions: versions disagree with the workspace's {version}: {', '.join(bad) or 'SONAME'}")
print(f"test-dist-versions: {len(seen) + 1} places, one version: {version} (SONAME {soname})")
PY
