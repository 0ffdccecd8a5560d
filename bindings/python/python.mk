# The Python package (bindings/python) in `make test` and `make demo`.
# Included by the root Makefile and run from the repository root.
#
#   make test-python   virtualenv under build/, `pip install ./bindings/python`
#                      (maturin from PyPI builds the PyO3 crate in release
#                      mode into the workspace's target/), then pytest against
#                      the installed package, mypy --strict, CLI checks
#   make demo-python   the examples on a fresh demo-data/python
#
# The crate is a workspace member, so `make check` (fmt, clippy) and
# `make build` already cover its Rust code.

PY_SRC := bindings/python
PY_VENV := build/python-venv
PY_BIN := $(PY_VENV)/bin
PYTHON3 ?= python3
PY_CLI_DIR := build/python-cli
PY_VECTOR_HEAD := 4:3cb80ca14de4a41ef744edd1ddda687284025e7a798e149c9e4da9c6cfebe6fc

.PHONY: test-python demo-python python-install

# The virtualenv and the test tools, remade when the tool list changes.
# `python3 -m venv` needs Debian's python3-venv for a Debian python: it is
# installed only when venv creation fails and we are root (as in CI).
$(PY_VENV)/.tools: $(PY_SRC)/requirements-dev.txt
	rm -rf $(PY_VENV)
	$(PYTHON3) -m venv $(PY_VENV) || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			rm -rf $(PY_VENV) && apt-get update -qq && apt-get install -y -qq python3-venv && \
			$(PYTHON3) -m venv $(PY_VENV); \
		else \
			echo "python3 -m venv failed: install python3-venv" >&2; exit 1; \
		fi; }
	$(PY_BIN)/python -m pip install --quiet -r $(PY_SRC)/requirements-dev.txt
	touch $@

# Always rebuilt and reinstalled: pip builds the wheel through maturin,
# and cargo makes that incremental.
python-install: $(PY_VENV)/.tools
	$(PY_BIN)/python -m pip install --force-reinstall --no-deps ./$(PY_SRC)

# pytest runs from build/ with the venv's script (no source directory on
# sys.path), so it imports the installed package; tests/conftest.py refuses
# the source tree and turns "no tests collected" (exit 5) into a failure.
test-python: python-install
	cd build && PYTHONDONTWRITEBYTECODE=1 ../$(PY_BIN)/pytest ../$(PY_SRC)/tests -p no:cacheprovider
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

BINDING_TESTS += test-python
BINDING_DEMOS += demo-python
