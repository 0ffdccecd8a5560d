# The Python package (bindings/python) in `make test` and `make demo`.
# Included by the root Makefile and run from the repository root.
#
#   make test-python   virtualenv under build/, `pip install ./bindings/python`
#                      (maturin from PyPI builds the PyO3 crate in release
#                      mode into the workspace's target/), Azurite from npm
#                      under build/azurite, then pytest against the installed
#                      package, mypy --strict, CLI checks
#   make demo-python   the examples on a fresh demo-data/python
#   make dist-python   the sdist and the abi3 manylinux wheel, in dist/
#   make test-dist-python  that wheel on every CPython here, no cargo on PATH
#
# The crate is a workspace member, so `make check` (fmt, clippy) already
# covers its Rust code.

PY_SRC := bindings/python
PY_VENV := build/python-venv
PY_BIN := $(PY_VENV)/bin
PY_CLI_DIR := build/python-cli
PY_VECTOR_HEAD := 4:3cb80ca14de4a41ef744edd1ddda687284025e7a798e149c9e4da9c6cfebe6fc

.PHONY: test-python demo-python python-install

# The virtualenv and the test tools.
$(PY_VENV)/.tools: $(PY_SRC)/requirements-dev.txt
	$(call tools_venv,$(PY_VENV),$<)

# The Azure tier tests' server (tests/test_tier_azure.py): Azurite, the
# Azure Storage emulator, from the npm registry at the version
# tests/azurite/package-lock.json pins (3.35.0: later releases need
# Node >= 21, and the machines run Node 20), installed with `npm ci` into
# build/azurite (node_modules never lands in the source tree) and remade
# when the lock changes. The tests find it through STRATALOG_AZURITE and
# fail, not skip, without it.
AZURITE_DIR := build/azurite
AZURITE_BLOB = $(CURDIR)/$(AZURITE_DIR)/node_modules/.bin/azurite-blob
NPM ?= npm
NPM_FLAGS ?= --no-audit --no-fund --engine-strict

$(AZURITE_DIR)/.tools: tests/azurite/package.json tests/azurite/package-lock.json
	rm -rf $(AZURITE_DIR) && mkdir -p $(AZURITE_DIR)
	cp $^ $(AZURITE_DIR)/
	cd $(AZURITE_DIR) && $(NPM) ci $(NPM_FLAGS)
	touch $@

# Always rebuilt and reinstalled: pip builds the wheel through maturin,
# and cargo makes that incremental.
# --target: the release artefacts the C library and the Node addon share
# (the root Makefile's `build`).
python-install: $(PY_VENV)/.tools $(LINK_TOOLS)
	$(RELEASE_ENV) MATURIN_PEP517_ARGS="--target $(HOST)" \
		$(PY_BIN)/python -m pip install --force-reinstall --no-deps ./$(PY_SRC)

# pytest runs from build/ with the venv's script (no source directory on
# sys.path), so it imports the installed package; tests/conftest.py refuses
# the source tree and turns "no tests collected" (exit 5) into a failure.
test-python: python-install $(AZURITE_DIR)/.tools
	cd build && PYTHONDONTWRITEBYTECODE=1 STRATALOG_AZURITE=$(AZURITE_BLOB) \
		../$(PY_BIN)/pytest ../$(PY_SRC)/tests -p no:cacheprovider
	$(PY_BIN)/mypy --strict --cache-dir build/mypy-cache -p stratalog
	$(PY_BIN)/mypy --strict --cache-dir build/mypy-cache examples/python $(PY_SRC)/tests/test_typed_api.py
	@echo "== stratalog CLI: clean store exits 0, tampered store exits 1"
	rm -rf $(PY_CLI_DIR) && mkdir -p $(PY_CLI_DIR)
	$(PY_BIN)/python examples/python/quickstart.py $(PY_CLI_DIR)/store >/dev/null
	test "$$($(PY_BIN)/stratalog head $(PY_CLI_DIR)/store --stream 7)" = "$(PY_VECTOR_HEAD)"
	$(PY_BIN)/stratalog verify $(PY_CLI_DIR)/store --stream 7 --against $(PY_VECTOR_HEAD)
	$(PY_BIN)/python -m stratalog --json stats $(PY_CLI_DIR)/store >/dev/null
	$(PY_BIN)/python -c 'import sys; p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[126] ^= 0xFF; open(p, "wb").write(b)' \
		$(PY_CLI_DIR)/store/streams/00000000000000000007/00000000000000000000.seg
	status=0; $(PY_BIN)/stratalog verify $(PY_CLI_DIR)/store || status=$$?; \
		if [ $$status -ne 1 ]; then echo "tampered store: expected exit 1, got $$status" >&2; exit 1; fi
	@echo "== test-python: ok"

demo-python: python-install
	rm -rf $(DEMO_DIR)/python
	mkdir -p $(DEMO_DIR)/python
	$(PY_BIN)/python examples/python/quickstart.py $(DEMO_DIR)/python/quickstart
	$(PY_BIN)/python examples/python/audit_trail.py $(DEMO_DIR)/python/audit_trail
	$(PY_BIN)/stratalog verify $(DEMO_DIR)/python/quickstart

## `make dist`: the sdist, and one abi3 wheel (every CPython >= 3.10)
## tagged manylinux_2_28 built from that sdist, into $(DIST_DIR)/. The wheel
## goes through pip and the package's own build backend, as a user's
## `pip install stratalog-<version>.tar.gz` would, so the sdist is proven to
## build. Linked as every release build is (the root Makefile's
## RELEASE_ENV), against glibc 2.28 whatever the build machine's glibc, and
## in the same target directory: cargo finds the crates of `make
## python-install` up to date (it keys them by their paths inside the
## workspace, which the sdist keeps), so this build only packs.
## `make test-dist-python` installs the wheel into fresh virtualenvs with
## no cargo or rustc on PATH and runs the test suite there
## (tests/dist/python.sh), with auditwheel from $(PY_DIST_VENV).
PY_DIST_VENV := build/dist-venv
PY_DIST_WHEELHOUSE := build/dist-wheel
# pip unpacks the sdist in a temporary directory: without this, its cargo
# target directory would be there too, and start empty.
PY_DIST_TARGET = $(abspath $(or $(CARGO_TARGET_DIR),target))
PY_MANYLINUX := manylinux_2_28
PY_SDIST = $(DIST_DIR)/stratalog-$(VERSION).tar.gz
.PHONY: dist-python test-dist-python

$(PY_DIST_VENV)/.tools: $(PY_SRC)/requirements-dist.txt
	$(call tools_venv,$(PY_DIST_VENV),$<)

# --no-build-isolation: the backend's maturin is the pinned one of the
# linker's tools venv, whose python runs pip (that venv is needed even
# with PORTABLE=0, whose wheel then fails maturin's manylinux_2_28 check).
dist-python: $(LINK_VENV)/.tools
	mkdir -p $(DIST_DIR) && rm -rf $(DIST_DIR)/stratalog-*.whl $(PY_DIST_WHEELHOUSE)
	find $(DIST_DIR) -maxdepth 1 -name 'stratalog-*.tar.gz' ! -name 'stratalog-*-linux-*' -delete
	$(LINK_VENV)/bin/maturin sdist -m $(PY_SRC)/Cargo.toml --out $(DIST_DIR)
	PATH="$(abspath $(LINK_VENV))/bin:$$PATH" $(RELEASE_ENV) CARGO_TARGET_DIR=$(PY_DIST_TARGET) \
		MATURIN_PEP517_ARGS="--compatibility $(PY_MANYLINUX) --target $(HOST)" \
		$(LINK_VENV)/bin/python -m pip wheel --quiet --no-deps --no-build-isolation --no-cache-dir \
		--wheel-dir $(PY_DIST_WHEELHOUSE) $(PY_SDIST)
	cp $(PY_DIST_WHEELHOUSE)/stratalog-$(VERSION)-*.whl $(DIST_DIR)/

# The tier tests of the suite need moto_server from the test tools' venv
# and Azurite from build/azurite.
test-dist-python: dist-python $(PY_DIST_VENV)/.tools $(PY_VENV)/.tools $(AZURITE_DIR)/.tools
	bash tests/dist/python.sh $(DIST_DIR) $(PY_DIST_VENV)

BINDING_TESTS += test-python
BINDING_DEMOS += demo-python
BINDING_DISTS += dist-python
BINDING_DIST_TESTS += test-dist-python
