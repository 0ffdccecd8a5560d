# shellcheck shell=bash
# The release's version and the shared library's names, read from
# include/stratalog.h: the test scripts check every artifact against these.
# Sourced with ROOT set to the repository.

header_macro() { sed -n "s/^#define STRATALOG_VERSION_$1 \\(.*\\)/\\1/p" "$ROOT/include/stratalog.h" | tr -d '"'; }
VERSION="$(header_macro STRING)"
VERSION_MAJOR="$(header_macro MAJOR)"
VERSION_MINOR="$(header_macro MINOR)"
VERSION_PATCH="$(header_macro PATCH)"
VERSION_NUMBER="$(header_macro NUMBER)"
[[ -n "$VERSION" && "$VERSION" == "$VERSION_MAJOR.$VERSION_MINOR.$VERSION_PATCH" ]] || {
    echo "include/stratalog.h: STRATALOG_VERSION_STRING '$VERSION' is not MAJOR.MINOR.PATCH" >&2
    exit 1
}
# The ABI policy (CHANGELOG.md): in 0.x a minor release may break the ABI,
# so the soname carries 0.MINOR; from 1.0 on, MAJOR.
if [[ "$VERSION_MAJOR" == 0 ]]; then SONAME="libstratalog.so.0.$VERSION_MINOR"; else SONAME="libstratalog.so.$VERSION_MAJOR"; fi
REALNAME="libstratalog.so.$VERSION"
