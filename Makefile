# Stagegraph developer commands. The README's quickstart is `make serve` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install serve test lint typecheck pytest neo4j neo4j-stop schema clean

install: $(STAMP)

# Reinstall when the lock or the project metadata changes; otherwise this is a no-op.
$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

serve: install
	$(BIN)/stagegraph serve --demo --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/pytest $(PYTEST_ARGS)

# Starts a throwaway Neo4j when none answers (and stops it afterwards), then lint, types, tests.
test: install
	@started=0; \
	if ! scripts/neo4j.sh status >/dev/null 2>&1; then \
	  if scripts/neo4j.sh start; then started=1; \
	  else echo "make test: could not start Neo4j; Neo4j tests will be skipped (or fail with STAGEGRAPH_REQUIRE_NEO4J=1)" >&2; fi; \
	fi; \
	status=0; \
	$(MAKE) --no-print-directory lint typecheck pytest || status=$$?; \
	if [ $$started = 1 ]; then scripts/neo4j.sh stop; fi; \
	exit $$status

neo4j:
	scripts/neo4j.sh start

neo4j-stop:
	scripts/neo4j.sh stop

schema: install
	$(BIN)/stagegraph schema > schema.graphql

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache stagegraph.db*
