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
# STAGEGRAPH_TEST_NEO4J_SERVERS=N (default 1; `make test` asks for one per pytest worker)
# starts N such servers, a lane each, on the ports that follow (7698, ...) with their data in
# .cache/neo4j-test-2/, ...; STAGEGRAPH_TEST_NEO4J_URL then lists their URLs, comma-separated,
# and tests/conftest.py gives each pytest-xdist worker a server of its own. A lane that does
# not start (its port taken) is left out; the tests run on the lanes that did.
#
# With STAGEGRAPH_TEST_NEO4J_URL already set, it starts nothing and the tests use (and
# wipe) that server: naming it is the consent.
set -uo pipefail
cd "$(dirname "$0")/.."

servers=${STAGEGRAPH_TEST_NEO4J_SERVERS:-1}
unset STAGEGRAPH_TEST_NEO4J_SERVERS  # the script's own knob: the tests it runs do not see it
[[ $servers =~ ^[1-9][0-9]*$ ]] || { echo "with-neo4j: STAGEGRAPH_TEST_NEO4J_SERVERS must be a positive number" >&2; exit 2; }

if [ -n "${STAGEGRAPH_TEST_NEO4J_URL:-}" ]; then
  echo "with-neo4j: the tests use STAGEGRAPH_TEST_NEO4J_URL=$STAGEGRAPH_TEST_NEO4J_URL (and wipe it)" >&2
  exec "$@"
fi

first_port=${STAGEGRAPH_TEST_NEO4J_PORT:-7697}
first_dir=${STAGEGRAPH_TEST_NEO4J_DIR:-$PWD/.cache/neo4j-test}
export NEO4J_EXCLUSIVE=1

# lane i (1-based): its port and data directory
lane_port() { echo $((first_port + $1 - 1)); }
lane_dir() { if [ "$1" = 1 ]; then echo "$first_dir"; else echo "$first_dir-$1"; fi; }
start_lane() { NEO4J_PORT=$(lane_port "$1") NEO4J_DIR=$(lane_dir "$1") scripts/neo4j.sh start; }
stop_lane() { NEO4J_PORT=$(lane_port "$1") NEO4J_DIR=$(lane_dir "$1") scripts/neo4j.sh stop; }

# The lanes start together, except on a fresh machine: there the first alone fetches the jars.
started=()
together=1
if [ ! -s "$(lane_dir 1)/classpath.txt" ]; then
  if start_lane 1; then started+=(1); fi
  together=2
fi
pids=()
for ((lane = together; lane <= servers; lane++)); do
  start_lane "$lane" &
  pids+=("$lane:$!")
done
for entry in "${pids[@]}"; do
  if wait "${entry#*:}"; then
    started+=("${entry%%:*}")
  elif [ "$servers" -gt 1 ]; then
    echo "with-neo4j: lane ${entry%%:*} (port $(lane_port "${entry%%:*}")) did not start; the tests use the other lanes" >&2
  fi
done

urls=()
for lane in "${started[@]}"; do urls+=("bolt://127.0.0.1:$(lane_port "$lane")"); done
if [ ${#urls[@]} -gt 0 ]; then
  export STAGEGRAPH_TEST_NEO4J_URL=$(IFS=,; echo "${urls[*]}")
else
  export STAGEGRAPH_TEST_NEO4J_URL=  # empty: the tests have no Neo4j (they look nowhere else)
  ports=" $first_port"
  if [ "$servers" -gt 1 ]; then ports="s $first_port-$(lane_port "$servers")"; fi
  echo "with-neo4j: no Neo4j of the tests' own on port$ports; Neo4j tests will be skipped (or fail with STAGEGRAPH_REQUIRE_NEO4J=1)" >&2
fi
status=0
"$@" || status=$?
for lane in "${started[@]}"; do stop_lane "$lane"; done
exit $status
