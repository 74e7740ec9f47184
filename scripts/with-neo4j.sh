#!/usr/bin/env bash
# Run a command (the tests) with a Neo4j of its own, exit with the command's status.
#
#   scripts/with-neo4j.sh make pytest
#
# It starts a throwaway server on a port of its own, STAGEGRAPH_TEST_NEO4J_PORT (default
# 7697, not 7687 where `make neo4j` and `docker compose up` publish theirs), with its data
# in .cache/neo4j-test/, hands it to the command as STAGEGRAPH_TEST_NEO4J_URL and stops it
# afterwards. It never uses a server it did not start: if something else answers on that
# port, it says so and the Neo4j tests skip (or fail with STAGEGRAPH_REQUIRE_NEO4J=1).
#
# With STAGEGRAPH_TEST_NEO4J_URL already set, it starts nothing and the tests use (and
# wipe) that server: naming it is the consent.
set -uo pipefail
cd "$(dirname "$0")/.."

if [ -n "${STAGEGRAPH_TEST_NEO4J_URL:-}" ]; then
  echo "with-neo4j: the tests use STAGEGRAPH_TEST_NEO4J_URL=$STAGEGRAPH_TEST_NEO4J_URL (and wipe it)" >&2
  exec "$@"
fi

export NEO4J_PORT=${STAGEGRAPH_TEST_NEO4J_PORT:-7697}
export NEO4J_DIR=${STAGEGRAPH_TEST_NEO4J_DIR:-$PWD/.cache/neo4j-test}
export NEO4J_EXCLUSIVE=1
started=0
if scripts/neo4j.sh start; then
  started=1
  export STAGEGRAPH_TEST_NEO4J_URL=bolt://127.0.0.1:$NEO4J_PORT
else
  export STAGEGRAPH_TEST_NEO4J_URL=  # empty: the tests have no Neo4j (they look nowhere else)
  echo "with-neo4j: no Neo4j of the tests' own on port $NEO4J_PORT; Neo4j tests will be skipped (or fail with STAGEGRAPH_REQUIRE_NEO4J=1)" >&2
fi
status=0
"$@" || status=$?
if [ $started = 1 ]; then scripts/neo4j.sh stop; fi
exit $status
