#!/usr/bin/env bash
# `make test-dist-node`: the Node tarball of `make dist`, tested as a user
# gets it.
#
#  1. dist/stratalog-VERSION.tgz holds the prebuilt addon for linux-x64-gnu,
#     the CommonJS and ESM entry points and both .d.ts files; the addon
#     needs glibc 2.28 at most and nothing else (tests/dist/glibc.sh);
#  2. `npm install` of it into a fresh project, with env -i PATH=/usr/bin:/bin
#     (no cargo, no rustc) and a fresh HOME (an empty npm cache), finishes
#     without a build step and in seconds;
#  3. there, require('stratalog') and `import ... from 'stratalog'` both
#     load, examples/node/quickstart.mjs runs, and the package's test suite
#     (bindings/node/test, node --test) passes against the installed copy;
#  4. with the addon taken out of a copy of the package, or replaced by a
#     file that does not load, require() fails with
#     STRATALOG_UNSUPPORTED_PLATFORM and a message naming the platform;
#  5. the version agrees: package.json, stratalog.version (the library's
#     stratalog_version()) and include/stratalog.h.
#
# Usage: tests/dist/node.sh dist/stratalog-VERSION.tgz
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
TARBALL="$(realpath "${1:?usage: node.sh dist/stratalog-VERSION.tgz}")"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/stratalog-dist-node.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
say() { printf '\n== %s\n' "$*"; }
fail() { echo "test-dist-node: $*" >&2; exit 1; }

# shellcheck source=../lib/version.sh
source "$ROOT/tests/lib/version.sh"
[[ "$(basename "$TARBALL")" == "stratalog-$VERSION.tgz" ]] || fail "the tarball is $(basename "$TARBALL"), expected stratalog-$VERSION.tgz"
NODE="$(command -v node)"
NPM="$(command -v npm)"
# The user's environment: no Rust anywhere on PATH. node and npm are the
# system's (/usr/bin); where they live elsewhere, only their directory is added.
CLEAN_PATH=/usr/bin:/bin
for tool in "$NODE" "$NPM"; do
    case ":$CLEAN_PATH:" in *":$(dirname "$tool"):"*) ;; *) CLEAN_PATH="$CLEAN_PATH:$(dirname "$tool")" ;; esac
done
# npm's proxy settings, if any, carry over; nothing else does.
keep=(npm_config_update_notifier=false)
for var in $(compgen -e); do
    case "$var" in http_proxy | https_proxy | no_proxy | HTTP_PROXY | HTTPS_PROXY | NO_PROXY) keep+=("$var=${!var}") ;; esac
done
# The tier tests run against moto_server from the Python test tools'
# virtualenv (an S3 server, not part of what is tested).
keep+=("STRATALOG_MOTO_SERVER=$ROOT/build/python-venv/bin/moto_server")
user() { env -i "${keep[@]}" PATH="$CLEAN_PATH" HOME="$WORK/home" LANG=C.UTF-8 "$@"; }
mkdir -p "$WORK/home"
for tool in cargo rustc rustup; do
    if user bash -c "command -v $tool" >/dev/null; then fail "$tool is on the clean PATH $CLEAN_PATH"; fi
done

say "1. the tarball's contents"
tar -tzf "$TARBALL" | sort >"$WORK/listing"
for f in stratalog.linux-x64-gnu.node index.js index.mjs index.d.ts index.d.mts binding.js package.json; do
    grep -qx "package/$f" "$WORK/listing" || { cat "$WORK/listing"; fail "the tarball lacks $f"; }
done
tar -xzOf "$TARBALL" package/package.json >"$WORK/package.json"
"$NODE" -e '
const p = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))
const scripts = Object.keys(p.scripts || {}).filter((s) => /^(pre|post)?install$/.test(s))
if (scripts.length) { console.error("install scripts: " + scripts); process.exit(1) }
if (p.version !== process.argv[2]) { console.error(`package.json ${p.version} != header ${process.argv[2]}`); process.exit(1) }
' "$WORK/package.json" "$VERSION" || fail "the packed package.json has install scripts or the wrong version"
echo "$(wc -l <"$WORK/listing") files, with stratalog.linux-x64-gnu.node; no install scripts"
mkdir -p "$WORK/addon"
tar -C "$WORK/addon" -xzf "$TARBALL" package/stratalog.linux-x64-gnu.node
bash "$ROOT/tests/dist/glibc.sh" "$WORK/addon/package/stratalog.linux-x64-gnu.node" || fail "the addon needs more than glibc 2.28"

say "2. npm install of the tarball, PATH=$CLEAN_PATH"
APP="$WORK/my-app"
mkdir -p "$APP"
printf '{ "name": "my-app", "version": "1.0.0", "private": true }\n' >"$APP/package.json"
start=$SECONDS
(cd "$APP" && user npm install --no-audit --no-fund "$TARBALL") || fail "npm install of the tarball failed"
took=$((SECONDS - start))
echo "npm install took ${took}s"
((took < 30)) || fail "npm install took ${took}s, more than 30"
[[ -f "$APP/node_modules/stratalog/stratalog.linux-x64-gnu.node" ]] || fail "the installed package has no addon"
[[ ! -e "$APP/node_modules/stratalog/target" && ! -e "$APP/node_modules/stratalog/src" ]] || fail "the installed package holds sources or a build"

say "3. require, import, the quickstart and the test suite, in the user's project"
(cd "$APP" && user node -e '
const s = require("stratalog")
if (typeof s.Store.open !== "function") process.exit(1)
console.log("require: stratalog " + s.version)') || fail "require('stratalog') failed"
(cd "$APP" && user node --input-type=module -e '
import { Store, version } from "stratalog"
import stratalog from "stratalog"
if (stratalog.Store !== Store) process.exit(1)
const store = Store.openInMemory()
const head = await store.append(1, Buffer.from("alpha"))
store.close()
console.log(`import: stratalog ${version}, head ${head}`)') || fail "import from 'stratalog' failed"
cp "$ROOT/examples/node/quickstart.mjs" "$APP/quickstart.mjs"
(cd "$APP" && user node quickstart.mjs "$WORK/quickstart-store") >"$WORK/quickstart.out" 2>&1 ||
    { cat "$WORK/quickstart.out" >&2; fail "the quickstart failed"; }
cat "$WORK/quickstart.out"
cp -r "$ROOT/bindings/node/test" "$APP/test"
tests=()
for f in "$APP"/test/*.test.mjs "$APP"/test/*.test.cjs; do [[ -e "$f" ]] && tests+=("test/$(basename "$f")"); done
(cd "$APP" && user node --test "${tests[@]}") >"$WORK/node-test.out" 2>&1 ||
    { cat "$WORK/node-test.out" >&2; fail "the test suite failed against the installed package"; }
tail -n 9 "$WORK/node-test.out"

say "4. no addon that loads here: a clear error that names the platform"
# Two copies of the installed package: one without its addon (a platform
# the package has no build for), one whose addon is not a shared object
# (one that cannot load here, as on a too-old glibc).
cp -r "$APP/node_modules/stratalog" "$WORK/no-addon"
rm "$WORK/no-addon"/stratalog.*.node
cp -r "$APP/node_modules/stratalog" "$WORK/bad-addon"
echo "not an ELF file" >"$WORK/bad-addon/stratalog.linux-x64-gnu.node"
for copy in no-addon:"is not in the package" bad-addon:"does not load"; do
    user node -e '
const [dir, detail] = process.argv.slice(1)
try {
  require(dir)
} catch (e) {
  console.log(e.message)
  const platform = `${process.platform}-${process.arch}`
  if (e.code !== "STRATALOG_UNSUPPORTED_PLATFORM" || !e.message.includes(platform) || !e.message.includes(detail)) process.exit(1)
  process.exit(0)
}
process.exit(2)' "$WORK/${copy%%:*}" "${copy#*:}" || fail "${copy%%:*}: require() did not fail with STRATALOG_UNSUPPORTED_PLATFORM naming the platform"
done

say "5. one version"
got="$(cd "$APP" && user node -e '
const s = require("stratalog")
console.log(require("stratalog/package.json").version, s.version)')"
[[ "$got" == "$VERSION $VERSION" ]] || fail "package.json and stratalog.version say '$got', the header $VERSION"
echo "package.json, stratalog.version and the header: $VERSION"

say "test-dist-node: the Node tarball is good"
