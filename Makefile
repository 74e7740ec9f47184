# Stagegraph developer commands. The README's quickstart is `make serve` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PLAYGROUND := api/playground
PLAYGROUND_STAMP := $(PLAYGROUND)/node_modules/.installed
EXPLORER := api/explorer
EXPLORER_STAMP := $(EXPLORER)/node_modules/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install serve test fuzz soak lint typecheck pytest neo4j neo4j-stop schema clean bench bench-webhooks compat bench-peers peers

install: $(STAMP) $(PLAYGROUND_STAMP) $(EXPLORER_STAMP)

# Reinstall when the lock or the project metadata changes; otherwise this is a no-op.
$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

# GraphiQL and React for the page at GET /graphql, pinned by the npm lock and served by the
# app. Without npm (or when npm ci fails) the Python install still succeeds, and the page
# loads the same versions from a CDN instead (the server logs a warning).
$(PLAYGROUND_STAMP): $(PLAYGROUND)/package.json $(PLAYGROUND)/package-lock.json
	@if ! command -v npm >/dev/null 2>&1; then \
	  echo "make install: npm not found; GraphiQL will load from a CDN (needs internet in the browser)" >&2; \
	elif npm ci --prefix $(PLAYGROUND) --prefer-offline --ignore-scripts --no-audit --no-fund --loglevel=error; then \
	  touch $@; \
	else \
	  echo "make install: npm ci failed in $(PLAYGROUND); GraphiQL will load from a CDN" >&2; \
	fi

# Cytoscape.js and its dagre layout for the explorer at GET /explore, the same way: pinned by
# the npm lock, served by the app, a CDN when npm is missing.
$(EXPLORER_STAMP): $(EXPLORER)/package.json $(EXPLORER)/package-lock.json
	@if ! command -v npm >/dev/null 2>&1; then \
	  echo "make install: npm not found; the explorer's graph library will load from a CDN" >&2; \
	elif npm ci --prefix $(EXPLORER) --prefer-offline --ignore-scripts --no-audit --no-fund --loglevel=error; then \
	  touch $@; \
	else \
	  echo "make install: npm ci failed in $(EXPLORER); the graph library will load from a CDN" >&2; \
	fi

serve: install
	$(BIN)/stagegraph serve --demo --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

# One process by default. PYTEST_WORKERS=N spreads the tests over N pytest-xdist workers,
# each with a throwaway Neo4j of its own: `make test` starts one server per worker
# (scripts/with-neo4j.sh, STAGEGRAPH_TEST_NEO4J_SERVERS) and tests/conftest.py gives worker N
# the N-th, so each wipes only its own. On 2 cores that does not pay: the JVMs are most of
# the Neo4j tests' CPU, and two of them used ~1.7x the CPU and wall time of one on
# tests/graph (README "Benchmarks", the test suite). (Before the lanes, two workers sharing
# one server were slower too: 16.5 min against ~13.)
PYTEST_WORKERS ?= 0
NEO4J_LANES ?= $(if $(filter 0,$(PYTEST_WORKERS)),1,$(PYTEST_WORKERS))
pytest: install
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

# Lint, types and tests with the tests' own throwaway Neo4j servers (scripts/with-neo4j.sh:
# port 7697 and, one per further worker, 7698...; .cache/neo4j-test*/; never a server it did
# not start), stopped afterwards.
test: install
	@STAGEGRAPH_TEST_NEO4J_SERVERS=$(NEO4J_LANES) scripts/with-neo4j.sh \
	  $(MAKE) --no-print-directory lint typecheck pytest

# The long forms of the trust suite (tests/trust): GraphQL fuzzing, the malformed-descriptor
# corpus and the source-fault runs at full size, each printing its figures.
fuzz: install
	@STAGEGRAPH_FUZZ=long scripts/with-neo4j.sh $(MAKE) --no-print-directory pytest \
	  PYTEST_WORKERS=0 PYTEST_ARGS="tests/trust -s -o timeout=0 $(PYTEST_ARGS)"

# Ingest and read benchmarks on SQLite and (when it answers) Neo4j; see README "Benchmarks".
# BENCH_ARGS='--sizes 2000' for a quick run.
bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

# Webhook-to-visible latency (and the unchanged re-ingest) on the 10k catalog; see README "Keeping it live".
bench-webhooks: install
	$(BIN)/python -m bench.webhooks $(BENCH_ARGS)

# The peers (not in CI: ~400 MB of node modules): Backstage's catalog backend and
# @neo4j/graphql, pinned in bench/peers/package-lock.json. better-sqlite3 has no prebuilt
# binary reachable here, so it is compiled against the local Node headers when present.
PEERS := bench/peers
PEERS_STAMP := $(PEERS)/node_modules/.installed
peers: $(PEERS_STAMP)
$(PEERS_STAMP): $(PEERS)/package.json $(PEERS)/package-lock.json
	@if [ -f /usr/include/node/node.h ]; then export npm_config_nodedir=/usr; fi; \
	  npm ci --prefix $(PEERS) --no-audit --no-fund --loglevel=error
	@touch $@

# Backstage's catalog backend and Stagegraph on the example catalog, every difference in
# their answers (see README "Compatibility with Backstage"). Exit 1 only if the harness fails.
compat: install peers
	$(BIN)/python -m bench.compat $(COMPAT_ARGS)

# Issue 14's tables: Backstage and @neo4j/graphql beside Stagegraph on the 10k catalog.
# BENCH_PEERS_NEO4J_URL is required and that Neo4j is WIPED (use `make neo4j`'s throwaway).
bench-peers: install peers
	@test -n "$(BENCH_PEERS_NEO4J_URL)" || { echo "make bench-peers: set BENCH_PEERS_NEO4J_URL to a throwaway Neo4j (it is wiped)" >&2; exit 2; }
	$(BIN)/python -m bench.side_by_side --neo4j-url $(BENCH_PEERS_NEO4J_URL) $(BENCH_PEERS_ARGS)

# 16 concurrent readers for 10 minutes on a 10k catalog while its source re-ingests every
# 30 s; prints throughput, p50/p99, errors and RSS every minute (see README "Soak").
# SOAK_ARGS='--minutes 2 --readers 4' for a quick try.
soak: install
	$(BIN)/python -m bench.soak $(SOAK_ARGS)

neo4j:
	scripts/neo4j.sh start

neo4j-stop:
	scripts/neo4j.sh stop

schema: install
	$(BIN)/stagegraph schema > schema.graphql

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache stagegraph.db* api/playground/node_modules \
	  api/explorer/node_modules bench/peers/node_modules
