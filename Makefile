# stratalog: the two commands a new user needs are `make demo` and `make test`.
#
# Everything else is here for developers:
#   make check    formatting and clippy, warnings are errors
#   make bench    every system, every workload: bench/results/latest.md and .png
#   make bench-criterion   the core's criterion benchmarks
#   make stress   the long crash/fault run
#   make install  PREFIX=/usr/local: header, libraries, pkg-config file
#   make uninstall  PREFIX=/usr/local: removes what install put there
#   make dist     every package a user installs without a Rust toolchain, in
#                 dist/: the C tarball, the Node tarball, the Python wheel and
#                 sdist (`make test-dist` installs and tests each one)

SHELL := /bin/bash
CARGO ?= cargo
# The host's target triple: see `build`.
HOST := $(shell rustc -vV | sed -n 's/^host: //p')
export CARGO_TERM_COLOR ?= never

.PHONY: all build test test-rust test-c test-readme test-demo check demo demo-c bench stress fuzz clean install uninstall \
	dist dist-c test-dist test-dist-c test-dist-versions

# A virtualenv at $(1)/ with the tools of the requirements file $(2),
# marked $(1)/.tools; its rule depends on $(2), so it is remade when the tool
# list changes. `python3 -m venv` needs Debian's python3-venv for a Debian
# python: it is installed only when venv creation fails and we are root (as
# in CI).
PYTHON3 ?= python3
define tools_venv
	rm -rf $(1)
	$(PYTHON3) -m venv $(1) || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			rm -rf $(1) && apt-get update -qq && apt-get install -y -qq python3-venv && \
			$(PYTHON3) -m venv $(1); \
		else \
			echo "python3 -m venv failed: install python3-venv" >&2; exit 1; \
		fi; }
	$(1)/bin/python -m pip install --quiet -r $(2)
	touch $(1)/.tools
endef

## Every release build, the C library's, the Python module's and the Node
## addon's, links with tools/link/cc: zig's C compiler driver (the ziglang
## package from PyPI, through maturin's wrapper, in $(LINK_VENV)), linking
## against the symbols of glibc 2.28 whatever this machine's glibc. So
## every package `make dist` builds loads on any Linux with glibc >= 2.28,
## as the wheel's manylinux_2_28 tag promises. One linker for all of them
## also keeps one set of release artefacts: cargo rebuilds everything for a
## different linker. The C compiler is still the system's. RELEASE_ENV is
## the environment for a release cargo (or napi, or maturin) build.
## PORTABLE=0 (or a host other than Linux with glibc) links with the
## system's linker instead, with no Python needed: for `make install` on a
## machine without python3-venv, whose library then needs this machine's
## glibc. `make test` checks the packages for glibc 2.28, so not with it.
PORTABLE ?= 1
LINK_VENV := build/link-venv
ifeq ($(PORTABLE):$(if $(filter %-linux-gnu,$(HOST)),glibc),1:glibc)
RELEASE_LINKER := $(CURDIR)/tools/link/cc
LINK_TOOLS := $(LINK_VENV)/.tools
RELEASE_ENV := CARGO_TARGET_$(shell echo '$(HOST)' | tr 'a-z-' 'A-Z_')_LINKER=$(RELEASE_LINKER)
else
RELEASE_LINKER :=
LINK_TOOLS :=
RELEASE_ENV :=
endif

$(LINK_VENV)/.tools: tools/link/requirements.txt
	$(call tools_venv,$(LINK_VENV),$<)

# Each binding owns a fragment that appends its targets to these lists.
BINDING_TESTS :=
BINDING_DEMOS :=
BINDING_DISTS :=
BINDING_DIST_TESTS :=
-include bindings/python/python.mk
-include bindings/node/node.mk

all: build

## The C library in release mode (libstratalog.so and .a in
## target/HOST/release). The Python and Node packages are built by their own
## tools (maturin, napi) in `make demo` and `make test`; `make check`
## compiles every crate.
##
## Every release build names the host triple explicitly, as napi always
## does: cargo then keeps one set of release artefacts in target/HOST/,
## which the C library, the Python module and the Node addon share, instead
## of compiling the whole dependency tree (object_store's included) twice.
## For the same reason every one of them links with the release linker
## (RELEASE_ENV, above).
build: $(LINK_TOOLS)
	$(RELEASE_ENV) $(CARGO) build --release -p stratalog-ffi --target $(HOST)

## All tests. CI runs exactly this.
test: check test-rust test-c $(BINDING_TESTS) test-dist test-readme test-demo

## `make demo` opens with its story, quiet build steps first (tests/demo/run.sh).
test-demo:
	bash tests/demo/run.sh

## Every code block of README.md, run verbatim (tests/readme/check_readme.py).
test-readme:
	python3 tests/readme/check_readme.py .

check:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test-rust:
	$(CARGO) test --workspace

## The C ABI: header checks, tests/c under ASan+UBSan and valgrind (dynamic
## and static), `make install` + pkg-config + the C example.
test-c:
	bash tests/c/run.sh

## Build, then run every example end to end on a fresh data directory, and
## finish with the story in examples/demo.sh (three languages, one store,
## the CLI catching tampering). Each step before the story runs quietly
## (examples/quietly.sh): one progress line each, its output in
## $(DEMO_LOGS)/, and printed in full if the step fails.
DEMO_DIR ?= demo-data
DEMO_LOGS := build/demo/logs
RELEASE_DIR = $(or $(CARGO_TARGET_DIR),target)/$(HOST)/release
QUIETLY := bash examples/quietly.sh

demo:
	@echo "make demo: building, then running every example (their output is in $(DEMO_LOGS)/)"
	@$(QUIETLY) $(DEMO_LOGS)/build.log "cargo build --release -p stratalog-ffi" $(MAKE) --no-print-directory build
	@for step in demo-c $(BINDING_DEMOS); do \
		$(QUIETLY) $(DEMO_LOGS)/$$step.log "make $$step" $(MAKE) --no-print-directory $$step || exit; \
	done
	@bash examples/demo.sh build/demo/append $(PY_BIN) $(DEMO_DIR)

demo-c: build
	mkdir -p build/demo
	$(CC) -std=c11 -Wall -Wextra -Werror -pedantic -Iinclude examples/c/quickstart.c \
		-o build/demo/quickstart -L$(RELEASE_DIR) -lstratalog -Wl,-rpath,$(abspath $(RELEASE_DIR))
	$(CC) -std=c11 -Wall -Wextra -Werror -pedantic -Iinclude examples/c/append.c \
		-o build/demo/append -L$(RELEASE_DIR) -lstratalog -Wl,-rpath,$(abspath $(RELEASE_DIR))
	rm -rf $(DEMO_DIR)/c
	mkdir -p $(DEMO_DIR)
	./build/demo/quickstart $(DEMO_DIR)/c

## Installs the C library: the header; libstratalog.so.MAJOR.MINOR.PATCH
## (exporting only stratalog_*, stripped; its debug info goes to
## $(LIBDIR)/.debug/, where gdb finds it through the library's
## .gnu_debuglink) with the soname link
## (libstratalog.so.0.MINOR in 0.x) and libstratalog.so pointing at it;
## libstratalog.a (its debug info stripped, as distributions strip static
## libraries: it would double the archive) and a pkg-config file.
## `make install PREFIX=$$HOME/.local`; DESTDIR for staging. `make uninstall` with the same variables removes
## exactly those files. `make dist` packs the same layout into a tarball.
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DEBUGDIR ?= $(LIBDIR)/.debug
OBJCOPY ?= objcopy
INSTALL_STAGE := build/install
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
VERSION_MAJOR := $(word 1,$(subst ., ,$(VERSION)))
VERSION_MINOR := $(word 2,$(subst ., ,$(VERSION)))
# The ABI policy (CHANGELOG.md): in 0.x a minor release may break the ABI,
# so the soname carries the minor (libstratalog.so.0.2); from 1.0 on, the
# major (libstratalog.so.1). tests/c/run.sh and tests/dist/c.sh derive the
# same name from the header's version macros and check it.
SOVERSION := $(if $(filter 0,$(VERSION_MAJOR)),0.$(VERSION_MINOR),$(VERSION_MAJOR))
SONAME := libstratalog.so.$(SOVERSION)
REALNAME := libstratalog.so.$(VERSION)
# The installed shared library is linked here from libstratalog.a rather
# than taken from cargo's cdylib: rustc hands the linker a version script of
# its own for a cdylib, and GNU ld refuses a second one, so ours
# (ffi/libstratalog.map: stratalog_* global, all else local) and the SONAME
# can only be applied at a link we run. --whole-archive keeps every
# exported function; --gc-sections drops what none of them reaches; the
# -z flags are the hardening rustc's own link uses. The native libraries
# are stratalog.pc's Libs.private, the ones libstratalog.a needs.
SHARED_LIBS := $(shell sed -n 's/^Libs.private: //p' ffi/stratalog.pc.in)
SHARED_LDFLAGS := -shared -Wl,-soname,$(SONAME) -Wl,--version-script=ffi/libstratalog.map \
	-Wl,--gc-sections -Wl,-z,relro,-z,now -Wl,-z,noexecstack
# The C compiler driver of that link, and the unwinder it needs besides
# SHARED_LIBS. `make install` uses this machine's cc (and its libgcc_s);
# `make dist` the release linker, so the tarball's library needs glibc
# 2.28 only, with zig's own libunwind linked in (zig has no
# libgcc_s).
SHARED_CC ?= $(CC)
SHARED_UNWIND ?=
# `make dist` installs into a staging prefix whose stratalog.pc finds its
# files relative to itself (pkg-config's ${pcfiledir}), so the unpacked
# tarball works wherever it lands.
ifeq ($(RELOCATABLE_PC),1)
PC_PREFIX = $${pcfiledir}/../..
PC_LIBDIR = $${prefix}/lib
PC_INCLUDEDIR = $${prefix}/include
else
PC_PREFIX = $(PREFIX)
PC_LIBDIR = $(LIBDIR)
PC_INCLUDEDIR = $(INCLUDEDIR)
endif

install: build
	rm -rf $(INSTALL_STAGE) && mkdir -p $(INSTALL_STAGE)
	$(SHARED_CC) $(SHARED_LDFLAGS) -o $(INSTALL_STAGE)/$(REALNAME).full \
		-Wl,--whole-archive $(RELEASE_DIR)/libstratalog.a -Wl,--no-whole-archive -Wl,--as-needed $(SHARED_LIBS) \
		$(SHARED_UNWIND)
	$(OBJCOPY) --only-keep-debug $(INSTALL_STAGE)/$(REALNAME).full $(INSTALL_STAGE)/$(REALNAME).debug
	$(OBJCOPY) --strip-unneeded --remove-section=.comment $(INSTALL_STAGE)/$(REALNAME).full $(INSTALL_STAGE)/$(REALNAME)
	cd $(INSTALL_STAGE) && $(OBJCOPY) --add-gnu-debuglink=$(REALNAME).debug $(REALNAME)
	$(OBJCOPY) --strip-debug --enable-deterministic-archives $(RELEASE_DIR)/libstratalog.a $(INSTALL_STAGE)/libstratalog.a
	install -d $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(DEBUGDIR)
	install -m 644 include/stratalog.h $(DESTDIR)$(INCLUDEDIR)/stratalog.h
	install -m 755 $(INSTALL_STAGE)/$(REALNAME) $(DESTDIR)$(LIBDIR)/$(REALNAME)
	ln -sfn $(REALNAME) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sfn $(SONAME) $(DESTDIR)$(LIBDIR)/libstratalog.so
	install -m 644 $(INSTALL_STAGE)/$(REALNAME).debug $(DESTDIR)$(DEBUGDIR)/$(REALNAME).debug
	install -m 644 $(INSTALL_STAGE)/libstratalog.a $(DESTDIR)$(LIBDIR)/libstratalog.a
	sed -e 's|@PREFIX@|$(PC_PREFIX)|g' -e 's|@LIBDIR@|$(PC_LIBDIR)|g' \
		-e 's|@INCLUDEDIR@|$(PC_INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
		ffi/stratalog.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/stratalog.pc
	chmod 644 $(DESTDIR)$(PKGCONFIGDIR)/stratalog.pc

# Only our files, and the debug directory if that leaves it empty; the
# standard directories (include, lib, lib/pkgconfig) stay.
uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/stratalog.h $(DESTDIR)$(LIBDIR)/libstratalog.so \
		$(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/$(REALNAME) \
		$(DESTDIR)$(LIBDIR)/libstratalog.a $(DESTDIR)$(PKGCONFIGDIR)/stratalog.pc \
		$(DESTDIR)$(DEBUGDIR)/$(REALNAME).debug
	[ ! -d $(DESTDIR)$(DEBUGDIR) ] || rmdir --ignore-fail-on-non-empty $(DESTDIR)$(DEBUGDIR)

## Packages a user installs without a Rust toolchain, all in $(DIST_DIR)/:
##   stratalog-$(VERSION)-linux-x86_64.tar.gz  the C library: `make install`'s
##       layout under one top directory, with a relocatable stratalog.pc
## and what the bindings add to BINDING_DISTS (the Node tarball, the Python
## wheel and sdist). Each target first removes its earlier packages, of
## any version, so dist/ holds one of each. `make test-dist` (part of `make
## test`) installs each one where no cargo or rustc is on PATH and runs its
## tests there (tests/dist/).
DIST_DIR := dist
DIST_PLATFORM := linux-$(shell uname -m)
DIST_C_NAME := stratalog-$(VERSION)-$(DIST_PLATFORM)
DIST_C_STAGE := build/dist/$(DIST_C_NAME)
DIST_C_TARBALL := $(DIST_DIR)/$(DIST_C_NAME).tar.gz
# Files in the tarball carry the last commit's time, not the build's.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || date +%s)

dist: dist-c $(BINDING_DISTS)
	@echo "== make dist:" && ls -l $(DIST_DIR)

dist-c:
	rm -rf $(DIST_C_STAGE) $(DIST_DIR)/stratalog-*-linux-*.tar.gz && mkdir -p $(DIST_DIR)
	$(MAKE) --no-print-directory install DESTDIR= RELOCATABLE_PC=1 PREFIX=$(abspath $(DIST_C_STAGE)) \
		$(if $(RELEASE_LINKER),SHARED_CC=$(RELEASE_LINKER) SHARED_UNWIND=-lunwind) \
		LIBDIR=$(abspath $(DIST_C_STAGE))/lib INCLUDEDIR=$(abspath $(DIST_C_STAGE))/include \
		PKGCONFIGDIR=$(abspath $(DIST_C_STAGE))/lib/pkgconfig DEBUGDIR=$(abspath $(DIST_C_STAGE))/lib/.debug
	tar -C build/dist --sort=name --owner=0 --group=0 --numeric-owner --mtime=@$(SOURCE_DATE_EPOCH) \
		-czf $(DIST_C_TARBALL) $(DIST_C_NAME)

test-dist: dist test-dist-c $(BINDING_DIST_TESTS) test-dist-versions

## One version in every place it is written (tests/dist/versions.sh).
test-dist-versions: dist
	bash tests/dist/versions.sh $(DIST_DIR)

test-dist-c: dist-c
	bash tests/dist/c.sh $(DIST_C_TARBALL)

## Benchmarks. `make bench` runs every workload against every system in one
## run (the write+SHA-256 limit, stratalog through Rust, C, Python and Node,
## and the peers SQLite, tamperlog, hypercore and commitlog, each installed
## from its registry under build/) and writes bench/results/latest.md and
## latest.png; see bench/README.md. BENCH_ROUNDS and BENCH_SECONDS tune it.
## `make bench-criterion` runs the core's criterion benchmarks; there
## BENCH_OPEN_GB sizes the sealed data of the open benchmark (the target is
## for 10 GiB; it needs that much free disk).
BENCH_VENV := build/bench-venv
BENCH_NODE := build/bench/node
NPM ?= npm
NPM_FLAGS ?= --no-audit --no-fund --engine-strict

.PHONY: bench-build bench-criterion
bench: bench-build
	$(BENCH_VENV)/bin/python bench/run.py

bench-build: build
	$(CARGO) build --release --manifest-path bench/rust/Cargo.toml --target-dir build/bench/target
	mkdir -p build/bench/bin
	$(CC) -std=c11 -O2 -Wall -Wextra -Werror -pedantic -Iinclude bench/c/bench_c.c -o build/bench/bin/bench_c \
		-L$(RELEASE_DIR) -lstratalog -lpthread -Wl,-rpath,$(abspath $(RELEASE_DIR))
	[ -x $(BENCH_VENV)/bin/python ] || $(PYTHON3) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet -r bench/requirements.txt
	$(RELEASE_ENV) MATURIN_PEP517_ARGS="--target $(HOST)" \
		$(BENCH_VENV)/bin/python -m pip install --quiet --force-reinstall --no-deps ./bindings/python
	$(MAKE) node-pack
	mkdir -p $(BENCH_NODE)
	cp bench/node/package.json bench/node/package-lock.json bench/node/bench.mjs $(BENCH_NODE)/
	cd $(BENCH_NODE) && $(NPM) ci $(NPM_FLAGS) && \
		$(NPM) install --no-save $(NPM_FLAGS) $(CURDIR)/bindings/node/build/pack/stratalog-*.tgz

BENCH_OPEN_GB ?= 10
bench-criterion:
	STRATALOG_BENCH_OPEN_GB=$(BENCH_OPEN_GB) $(CARGO) bench -p stratalog-core --bench core

## Coverage-guided fuzzing with libFuzzer (stable Rust: sanitizer-coverage
## flags, no nightly needed). FUZZ_SECONDS per target; crashes land in
## fuzz/artifacts/ and belong in core/tests/fuzz-regressions/.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := segment sealed
FUZZ_RUSTFLAGS := -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
	-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
	-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing
# An explicit --target keeps the coverage flags off build scripts.
fuzz:
	RUSTFLAGS="$(FUZZ_RUSTFLAGS)" $(CARGO) build --release --manifest-path fuzz/Cargo.toml \
		--target $(HOST) --target-dir target/fuzz
	for t in $(FUZZ_TARGETS); do \
		mkdir -p fuzz/corpus/$$t fuzz/artifacts/$$t; \
		./target/fuzz/$(HOST)/release/$$t fuzz/corpus/$$t core/tests/fuzz-regressions \
			-max_total_time=$(FUZZ_SECONDS) -artifact_prefix=fuzz/artifacts/$$t/ -print_final_stats=1 || exit 1; \
	done

## The long reliability run: thousands of SIGKILLs instead of 200.
STRESS_KILLS ?= 3000
## kill -9 during prune and backup (24 in make test).
STRESS_PRUNE_KILLS ?= 400
stress:
	STRATALOG_CRASH_ITERS=$(STRESS_KILLS) $(CARGO) test --release -p stratalog-core --test crash -- --nocapture
	STRATALOG_PRUNE_KILLS=$(STRESS_PRUNE_KILLS) $(CARGO) test --release -p stratalog-core --test retention kill_9 -- --nocapture

clean:
	$(CARGO) clean
