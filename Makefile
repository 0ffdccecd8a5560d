# stratalog: the two commands a new user needs are `make demo` and `make test`.
#
# Everything else is here for developers:
#   make check    formatting and clippy, warnings are errors
#   make bench    every system, every workload: bench/results/latest.md and .png
#   make bench-criterion   the core's criterion benchmarks
#   make stress   the long crash/fault run
#   make install  PREFIX=/usr/local: header, libraries, pkg-config file
#   make uninstall  PREFIX=/usr/local: removes what install put there

SHELL := /bin/bash
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: all build test test-rust test-c test-readme test-demo check demo demo-c bench stress fuzz clean install uninstall

# Each binding owns a fragment that appends its targets to these lists.
BINDING_TESTS :=
BINDING_DEMOS :=
-include bindings/python/python.mk
-include bindings/node/node.mk

all: build

build:
	$(CARGO) build --workspace --release

## All tests. CI runs exactly this.
test: check test-rust test-c $(BINDING_TESTS) test-readme test-demo

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
RELEASE_DIR = $(or $(CARGO_TARGET_DIR),target)/release
QUIETLY := bash examples/quietly.sh

demo:
	@echo "make demo: building, then running every example (their output is in $(DEMO_LOGS)/)"
	@$(QUIETLY) $(DEMO_LOGS)/build.log "cargo build --workspace --release" $(MAKE) --no-print-directory build
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

## Installs the C library: the header, libstratalog.so (stripped; its debug
## info goes to $(LIBDIR)/.debug/libstratalog.so.debug, where gdb finds it
## through the library's .gnu_debuglink), libstratalog.a and a pkg-config
## file. `make install PREFIX=$$HOME/.local`; DESTDIR for staging.
## `make uninstall` with the same variables removes exactly those files.
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DEBUGDIR ?= $(LIBDIR)/.debug
OBJCOPY ?= objcopy
INSTALL_STAGE := build/install
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)

install:
	$(CARGO) build --release -p stratalog-ffi
	rm -rf $(INSTALL_STAGE) && mkdir -p $(INSTALL_STAGE)
	$(OBJCOPY) --only-keep-debug $(RELEASE_DIR)/libstratalog.so $(INSTALL_STAGE)/libstratalog.so.debug
	$(OBJCOPY) --strip-unneeded --remove-section=.comment $(RELEASE_DIR)/libstratalog.so $(INSTALL_STAGE)/libstratalog.so
	cd $(INSTALL_STAGE) && $(OBJCOPY) --add-gnu-debuglink=libstratalog.so.debug libstratalog.so
	install -d $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(DEBUGDIR)
	install -m 644 include/stratalog.h $(DESTDIR)$(INCLUDEDIR)/stratalog.h
	install -m 755 $(INSTALL_STAGE)/libstratalog.so $(DESTDIR)$(LIBDIR)/libstratalog.so
	install -m 644 $(INSTALL_STAGE)/libstratalog.so.debug $(DESTDIR)$(DEBUGDIR)/libstratalog.so.debug
	install -m 644 $(RELEASE_DIR)/libstratalog.a $(DESTDIR)$(LIBDIR)/libstratalog.a
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
		ffi/stratalog.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/stratalog.pc
	chmod 644 $(DESTDIR)$(PKGCONFIGDIR)/stratalog.pc

# Only our files, and the debug directory if that leaves it empty; the
# standard directories (include, lib, lib/pkgconfig) stay.
uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/stratalog.h $(DESTDIR)$(LIBDIR)/libstratalog.so \
		$(DESTDIR)$(LIBDIR)/libstratalog.a $(DESTDIR)$(PKGCONFIGDIR)/stratalog.pc \
		$(DESTDIR)$(DEBUGDIR)/libstratalog.so.debug
	[ ! -d $(DESTDIR)$(DEBUGDIR) ] || rmdir --ignore-fail-on-non-empty $(DESTDIR)$(DEBUGDIR)

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
PYTHON3 ?= python3
NPM ?= npm
NPM_FLAGS ?= --no-audit --no-fund --engine-strict

.PHONY: bench-build bench-criterion
bench: bench-build
	$(BENCH_VENV)/bin/python bench/run.py

bench-build:
	$(CARGO) build --release -p stratalog-ffi
	$(CARGO) build --release --manifest-path bench/rust/Cargo.toml --target-dir build/bench/target
	mkdir -p build/bench/bin
	$(CC) -std=c11 -O2 -Wall -Wextra -Werror -pedantic -Iinclude bench/c/bench_c.c -o build/bench/bin/bench_c \
		-L$(RELEASE_DIR) -lstratalog -lpthread -Wl,-rpath,$(abspath $(RELEASE_DIR))
	[ -x $(BENCH_VENV)/bin/python ] || $(PYTHON3) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet -r bench/requirements.txt
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
HOST := $(shell rustc -vV | sed -n 's/^host: //p')
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
stress:
	STRATALOG_CRASH_ITERS=$(STRESS_KILLS) $(CARGO) test --release -p stratalog-core --test crash -- --nocapture

clean:
	$(CARGO) clean
