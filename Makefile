# stratalog: the two commands a new user needs are `make demo` and `make test`.
#
# Everything else is here for developers:
#   make check    formatting and clippy, warnings are errors
#   make bench    benchmarks (release build)
#   make stress   the long crash/fault run
#   make install  PREFIX=/usr/local: header, libraries, pkg-config file

SHELL := /bin/bash
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: all build test test-rust check demo bench stress clean

all: build

build:
	$(CARGO) build --workspace --release

## All tests. CI runs exactly this.
test: check test-rust

check:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test-rust:
	$(CARGO) test --workspace

## Build, then run every example end to end on a fresh data directory.
demo: build
	@echo "demo: examples are added as the C, Python and Node packages land"

bench:
	$(CARGO) bench -p stratalog-core --bench core

clean:
	$(CARGO) clean
