# Curation Commons: the verbs a newcomer needs. Quick start: `make demo`, `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed

.PHONY: demo test test-unit test-integration lint typecheck contracts bench brownie brownie-smoke slither clean postgres-server solc-link

$(STAMP): pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e ".[dev]"
	touch $(STAMP)

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NPM_STAMP)

demo: $(STAMP)
	$(BIN)/curation demo

contracts: $(STAMP) $(NPM_STAMP)
	$(BIN)/python -m backend.chain.compiler

# Slither pins web3 < 7, so it gets its own virtualenv too.
SLITHER_STAMP := .venv-slither/.installed
$(SLITHER_STAMP):
	$(PY) -m venv .venv-slither
	.venv-slither/bin/pip install -q --upgrade pip
	.venv-slither/bin/pip install -q slither-analyzer==0.11.6
	touch $(SLITHER_STAMP)

lint: $(STAMP) $(NPM_STAMP) $(SLITHER_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	scripts/slither.sh

slither: $(STAMP) $(NPM_STAMP) $(SLITHER_STAMP)
	scripts/slither.sh

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) $(NPM_STAMP) postgres-server lint
	$(BIN)/pytest -q

test-unit: $(STAMP) $(NPM_STAMP)
	$(BIN)/pytest -q -m "not integration"

test-integration: $(STAMP) $(NPM_STAMP) postgres-server
	$(BIN)/pytest -q -m integration

# The PostgreSQL index tests start a throwaway server of their own; they need the server binaries.
postgres-server:
	@if command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "installing the PostgreSQL server (Debian package postgresql) for the index tests"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null \
		|| { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null; }; \
	else echo "the tests need the PostgreSQL server binaries: install the package postgresql (apt-get install postgresql)" >&2; exit 1; fi

bench: $(STAMP) $(NPM_STAMP)
	$(BIN)/python -m benchmarks.gas_registry
	$(BIN)/python -m benchmarks.gas
	$(BIN)/python -m benchmarks.gas_forwarder
	$(BIN)/python -m benchmarks.ipfs
	$(BIN)/python -m benchmarks.weights
	$(BIN)/python -m benchmarks.manifest_scale
	$(BIN)/python -m benchmarks.release_scale
	$(BIN)/python -m benchmarks.index
	$(BIN)/python -m benchmarks.pull
	$(BIN)/python -m benchmarks.api

# Optional brownie workflow in its own virtualenv (it pins web3 7.16 and ~80 exact versions).
BROWNIE_STAMP := .venv-brownie/.installed
$(BROWNIE_STAMP): $(NPM_STAMP)
	$(PY) -m venv .venv-brownie
	.venv-brownie/bin/pip install -q --upgrade pip
	.venv-brownie/bin/pip install -q eth-brownie==1.22.2
	mkdir -p build/brownie
	.venv-brownie/bin/brownie networks delete hardhat-local >/dev/null 2>&1 || true
	.venv-brownie/bin/brownie networks add Development hardhat-local cmd="npx hardhat node" host=http://127.0.0.1 port=8545 >/dev/null
	touch $(BROWNIE_STAMP)

# py-solc-x (and so brownie) finds solc 0.8.28 in ~/.solcx: point it at this checkout's shim every time.
solc-link:
	@mkdir -p $(HOME)/.solcx && ln -sf $(CURDIR)/scripts/solc $(HOME)/.solcx/solc-v0.8.28

brownie: $(BROWNIE_STAMP) solc-link
	@echo "brownie ready: .venv-brownie/bin/brownie compile; .venv-brownie/bin/brownie run scripts/deploy.py --network hardhat-local"

brownie-smoke: $(BROWNIE_STAMP) solc-link
	scripts/brownie-smoke.sh

clean:
	rm -rf $(VENV) node_modules build *.egg-info .mypy_cache .ruff_cache
