# The Node package (bindings/node), included by the root Makefile.
#
#   make test-node   npm ci, build the addon (release, napi build), npm pack,
#                    install the tarball into a fresh project under
#                    bindings/node/build/, run `node --test` there, and check
#                    the TypeScript declarations with `tsc --noEmit --strict`
#   make demo-node   build and pack, install the tarball into examples/node,
#                    run quickstart.mjs, audit-trail.mjs and receipts.mjs on
#                    $(DEMO_DIR)/node
#   make dist-node   the packed package, its addon prebuilt inside, in dist/
#   make test-dist-node  that tarball installed with no cargo on PATH
#
# Everything comes from the npm registry (pinned in package-lock.json) and
# crates.io; the addon is compiled here, nothing prebuilt is downloaded. The
# addon crate is a workspace member, so it shares target/: napi build puts
# its artefacts under target/x86_64-unknown-linux-gnu/, where the C library
# and the Python module are built too (the root Makefile's `build`), with
# the same linker (RELEASE_ENV: the addon needs glibc 2.28 only). The
# addon is stripped after the build, not with napi's --strip: that sets
# RUSTFLAGS, which would give every crate a second set of artefacts.

NODE_DIR := bindings/node
NODE_PACK_DIR := $(NODE_DIR)/build/pack
NPM ?= npm
# --engine-strict: a dependency that does not support this Node is an
# error, not a warning (the supported version is package.json's engines).
NPM_FLAGS ?= --no-audit --no-fund --engine-strict

.PHONY: test-node demo-node node-build node-pack

# The tier tests run against moto_server, from the Python test tools'
# virtualenv (bindings/python/requirements-dev.txt).
test-node: $(PY_VENV)/.tools $(LINK_TOOLS)
	cd $(NODE_DIR) && $(NPM) ci $(NPM_FLAGS) && $(RELEASE_ENV) $(NPM) run build && \
		STRATALOG_MOTO_SERVER=$(CURDIR)/$(PY_BIN)/moto_server $(NPM) test

node-build: $(LINK_TOOLS)
	cd $(NODE_DIR) && { [ -x node_modules/.bin/napi ] || $(NPM) ci $(NPM_FLAGS); } && $(RELEASE_ENV) $(NPM) run build

node-pack: node-build
	rm -rf $(NODE_PACK_DIR) && mkdir -p $(NODE_PACK_DIR)
	cd $(NODE_DIR) && $(NPM) pack --pack-destination build/pack

demo-node: node-pack
	rm -rf examples/node/node_modules
	cd examples/node && $(NPM) install --no-save --no-package-lock $(NPM_FLAGS) \
		$(CURDIR)/$(NODE_PACK_DIR)/stratalog-*.tgz
	rm -rf $(DEMO_DIR)/node && mkdir -p $(DEMO_DIR)/node
	cd examples/node && node quickstart.mjs $(abspath $(DEMO_DIR))/node/quickstart
	cd examples/node && node audit-trail.mjs $(abspath $(DEMO_DIR))/node/audit-trail
	cd examples/node && node receipts.mjs $(abspath $(DEMO_DIR))/node/receipts

## `make dist`: the packed package, with the prebuilt linux-x64-gnu addon
## inside, as $(DIST_DIR)/stratalog-$(VERSION).tgz; `make test-dist-node`
## installs it where no cargo or rustc is on PATH (tests/dist/node.sh).
.PHONY: dist-node test-dist-node
dist-node: node-pack
	mkdir -p $(DIST_DIR) && rm -f $(DIST_DIR)/stratalog-*.tgz
	cp $(NODE_PACK_DIR)/stratalog-$(VERSION).tgz $(DIST_DIR)/

test-dist-node: dist-node $(PY_VENV)/.tools
	bash tests/dist/node.sh $(DIST_DIR)/stratalog-$(VERSION).tgz

BINDING_TESTS += test-node
BINDING_DEMOS += demo-node
BINDING_DISTS += dist-node
BINDING_DIST_TESTS += test-dist-node
