#!/usr/bin/env bash
# Run a command with a Neo4j for the tests: start a throwaway one when none answers (and stop
# it afterwards), run the command, exit with its status.
#
#   scripts/with-neo4j.sh make pytest
set -uo pipefail
cd "$(dirname "$0")/.."
started=0
if ! scripts/neo4j.sh status >/dev/null 2>&1; then
  if scripts/neo4j.sh start; then started=1
  else echo "with-neo4j: could not start Neo4j; Neo4j tests will be skipped (or fail with STAGEGRAPH_REQUIRE_NEO4J=1)" >&2; fi
fi
status=0
"$@" || status=$?
if [ $started = 1 ]; then scripts/neo4j.sh stop; fi
exit $status
