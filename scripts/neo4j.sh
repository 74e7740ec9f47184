#!/usr/bin/env bash
# A throwaway Neo4j 5.26 community server for development and tests.
#
#   scripts/neo4j.sh start    start it (if needed); returns once Bolt answers
#   scripts/neo4j.sh stop     stop what `start` started (harmless when not running)
#   scripts/neo4j.sh status   exit 0 if Neo4j answers Bolt on the port, else 1
#
# bolt://127.0.0.1:${NEO4J_PORT:-7687}, user neo4j, password stagegraph. The data directory is
# wiped on every start. By default it runs the embedded server in scripts/neo4j/DevNeo4j.java
# (Java 17+ and Maven; jars are fetched from Maven Central on first use); without those, and
# with a Docker daemon, it runs the neo4j:5.26-community image instead.
# State (classpath, compiled class, data, logs, pid file) lives in .cache/neo4j/.
#
# Environment: NEO4J_PORT (default 7687), NEO4J_DIR (data, log and pid files; default
# .cache/neo4j: give a second instance its own, with its own port), NEO4J_RUNTIME (auto|java|docker, default auto),
# NEO4J_START_TIMEOUT (seconds, default 180), NEO4J_JAVA_OPTS (extra JVM options; the page
# cache is 128 MB unless -Dstagegraph.pagecacheMb=N is one of them),
# NEO4J_EXCLUSIVE=1 (start refuses a server on the port that this script, with this
# NEO4J_DIR, did not start, instead of using it; scripts/with-neo4j.sh sets it).
#
# Every server it starts carries the marker user `stagegraph_throwaway`: tests wipe only a
# database whose server has it, unless STAGEGRAPH_TEST_NEO4J_URL names the server explicitly.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SRC_DIR=$ROOT/scripts/neo4j
CACHE=${NEO4J_DIR:-$ROOT/.cache/neo4j}
PORT=${NEO4J_PORT:-7687}
PASSWORD=stagegraph
TIMEOUT=${NEO4J_START_TIMEOUT:-180}
RUNTIME=${NEO4J_RUNTIME:-auto}
EXCLUSIVE=${NEO4J_EXCLUSIVE:-0}
MARKER_USER=stagegraph_throwaway
CONTAINER=stagegraph-neo4j
IMAGE=neo4j:5.26-community
URI=bolt://127.0.0.1:$PORT

PIDFILE=$CACHE/neo4j.pid
PORTFILE=$CACHE/neo4j.port
READY=$CACHE/ready
LOG=$CACHE/neo4j.log
HOME_DIR=$CACHE/home
CLASSPATH_FILE=$CACHE/classpath.txt
CLASSES=$CACHE/classes
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
JAVAC=${JAVA_HOME:+$JAVA_HOME/bin/}javac
JVM_OPTS=(
  -Xms256m -Xmx1g
  -XX:+UseG1GC
  --add-opens=java.base/java.nio=ALL-UNNAMED
  --add-opens=java.base/java.io=ALL-UNNAMED
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
  -Dlog4j2.disable.jmx=true
)

say() { printf '%s\n' "$*" >&2; }
die() { say "neo4j.sh: $*"; exit 1; }

# 0: a Bolt server answers the handshake on $1; 1: nothing listens; 2: something else listens.
bolt_probe() {
  if command -v python3 >/dev/null 2>&1; then
    python3 - "$1" <<'PY' && return 0 || return $?
import socket, sys
try:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
except OSError:
    sys.exit(1)
try:
    s.settimeout(5)
    # Bolt magic, then four version proposals: 5.4..5.0, 4.4, 4.0, 3.0
    s.sendall(bytes.fromhex("6060b017" "00040405" "00000404" "00000004" "00000003"))
    got = b""
    while len(got) < 4:
        chunk = s.recv(4 - len(got))
        if not chunk:
            break
        got += chunk
except OSError:
    sys.exit(2)
finally:
    s.close()
sys.exit(0 if len(got) == 4 and got != b"\0\0\0\0" else 2)
PY
  fi
  # No python3: a plain TCP connect has to do.
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0 || return 1
}

# The pid of the server we started, if it is still alive.
our_pid() {
  [[ -f $PIDFILE ]] || return 1
  local pid
  pid=$(<"$PIDFILE")
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  if [[ -r /proc/$pid/cmdline ]]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q DevNeo4j || return 1
  else
    ps -ww -p "$pid" -o args= 2>/dev/null | grep -q DevNeo4j || return 1
  fi
  echo "$pid"
}

have_docker() { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }
docker_running() { [[ -n $(docker ps -q --filter "name=^/${CONTAINER}\$" 2>/dev/null) ]]; }

pick_runtime() {
  case $RUNTIME in
    java | docker) echo "$RUNTIME" ;;
    auto)
      if command -v "$JAVA" >/dev/null 2>&1 && command -v "$JAVAC" >/dev/null 2>&1 \
        && command -v mvn >/dev/null 2>&1; then
        echo java
      elif have_docker; then
        echo docker
      else
        die "need Java 17+ (java, javac) and Maven, or a Docker daemon"
      fi ;;
    *) die "NEO4J_RUNTIME must be auto, java or docker (got '$RUNTIME')" ;;
  esac
}

# Resolve the jars (first run: download) and compile DevNeo4j into the cache.
prepare_java() {
  local cp_ok=1 jar jars=()
  if [[ -s $CLASSPATH_FILE && $CLASSPATH_FILE -nt $SRC_DIR/pom.xml ]]; then
    IFS=: read -r -a jars <"$CLASSPATH_FILE" || true
    for jar in "${jars[@]}"; do [[ -f $jar ]] || { cp_ok=0; break; }; done
  else
    cp_ok=0
  fi
  if ((!cp_ok)); then
    say "fetching Neo4j 5.26 jars from Maven Central (first run only)…"
    if ! mvn -B -q -f "$SRC_DIR/pom.xml" dependency:build-classpath \
      -Dmdep.outputFile="$CLASSPATH_FILE.tmp" >"$CACHE/mvn.log" 2>&1; then
      tail -n 30 "$CACHE/mvn.log" >&2
      die "Maven could not resolve the Neo4j jars (full log: $CACHE/mvn.log)"
    fi
    mv "$CLASSPATH_FILE.tmp" "$CLASSPATH_FILE"
  fi
  if [[ ! -f $CLASSES/DevNeo4j.class || $SRC_DIR/DevNeo4j.java -nt $CLASSES/DevNeo4j.class \
    || $CLASSPATH_FILE -nt $CLASSES/DevNeo4j.class ]]; then
    rm -rf "$CLASSES"
    mkdir -p "$CLASSES"
    "$JAVAC" -nowarn -d "$CLASSES" -cp "$(<"$CLASSPATH_FILE")" "$SRC_DIR/DevNeo4j.java" >&2 \
      || die "could not compile $SRC_DIR/DevNeo4j.java"
  fi
}

# Wait until Bolt answers (and, for the embedded server, the password is set).
wait_ready() { # runtime pid-or-empty started-at
  local runtime=$1 pid=$2 t0=$3
  while :; do
    if [[ $runtime == java ]]; then
      if ! kill -0 "$pid" 2>/dev/null; then
        say "Neo4j exited during startup; last lines of $LOG:"
        tail -n 40 "$LOG" >&2
        [[ -f $HOME_DIR/logs/debug.log ]] && say "(details: $HOME_DIR/logs/debug.log)"
        rm -f "$PIDFILE" "$PORTFILE" "$READY"
        exit 1
      fi
      [[ -f $READY ]] && bolt_probe "$PORT" && break
    else
      docker_running || { docker logs --tail 40 "$CONTAINER" >&2 || true; die "the $CONTAINER container exited"; }
      bolt_probe "$PORT" && break
    fi
    if ((SECONDS - t0 >= TIMEOUT)); then
      say "Neo4j did not answer on $URI within ${TIMEOUT}s; last lines of the log:"
      if [[ $runtime == java ]]; then
        tail -n 40 "$LOG" >&2
        [[ -f $HOME_DIR/logs/debug.log ]] && say "(details: $HOME_DIR/logs/debug.log)"
      else
        docker logs --tail 40 "$CONTAINER" >&2 || true
      fi
      stop >/dev/null 2>&1 || true
      exit 1
    fi
    sleep 0.5
  done
  say "Neo4j ready on $URI ($((SECONDS - t0))s)"
}

start() {
  local t0=$SECONDS pid runtime probe=0
  mkdir -p "$CACHE"
  [[ -f $CACHE/.gitignore ]] || echo '*' >"$CACHE/.gitignore"
  # Serialise concurrent starts (e.g. parallel make jobs); the server itself must not hold fd 9.
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$CACHE/start.lock"
    flock 9
  fi
  if pid=$(our_pid); then
    local running_port
    running_port=$(cat "$PORTFILE" 2>/dev/null || echo "$PORT")
    [[ $running_port == "$PORT" ]] \
      || die "Neo4j is already running (pid $pid) on port $running_port; run '$0 stop' first"
    if [[ -f $READY ]] && bolt_probe "$PORT"; then
      say "Neo4j already running (pid $pid) on $URI"
      return 0
    fi
    say "Neo4j is starting (pid $pid); waiting…"
    wait_ready java "$pid" "$t0"
    return 0
  fi
  if command -v docker >/dev/null 2>&1 && docker_running; then
    bolt_probe "$PORT" && { say "Neo4j already running (container $CONTAINER) on $URI"; return 0; }
  fi
  bolt_probe "$PORT" || probe=$?
  case $probe in
    0)
      ((EXCLUSIVE)) && die "something this script did not start answers Bolt on $URI (from \
$CACHE); the tests would wipe it, so it is not used: stop it or choose another port"
      say "something else already answers Bolt on $URI; using it"; return 0 ;;
    2) die "port $PORT is in use by something that does not speak Bolt (set NEO4J_PORT)" ;;
  esac

  runtime=$(pick_runtime)

  if [[ $runtime == docker ]]; then
    have_docker || die "NEO4J_RUNTIME=docker but no Docker daemon answers"
    say "starting ($IMAGE in container $CONTAINER)…"
    docker rm -f "$CONTAINER" >/dev/null 2>&1 || true
    docker run -d --name "$CONTAINER" -p "127.0.0.1:$PORT:7687" \
      -e NEO4J_AUTH="neo4j/$PASSWORD" "$IMAGE" >/dev/null
    wait_ready docker "" "$t0"
    # The throwaway mark (see scripts/neo4j/DevNeo4j.java and tests/conftest.py).
    docker exec "$CONTAINER" cypher-shell -u neo4j -p "$PASSWORD" -d system \
      "CREATE USER $MARKER_USER IF NOT EXISTS SET PASSWORD '$(od -An -tx8 -N16 /dev/urandom | tr -d ' \n')' CHANGE NOT REQUIRED" \
      >/dev/null || die "could not create the marker user $MARKER_USER in $CONTAINER"
    return 0
  fi

  prepare_java
  say "starting…"
  rm -rf "$HOME_DIR" "$READY"
  # shellcheck disable=SC2086  # NEO4J_JAVA_OPTS is a word list on purpose
  nohup "$JAVA" "${JVM_OPTS[@]}" ${NEO4J_JAVA_OPTS:-} -cp "$CLASSES:$(<"$CLASSPATH_FILE")" \
    DevNeo4j "$HOME_DIR" "$PORT" "$PASSWORD" "$READY" </dev/null >"$LOG" 2>&1 9>&- &
  pid=$!
  echo "$pid" >"$PIDFILE"
  echo "$PORT" >"$PORTFILE"
  wait_ready java "$pid" "$t0"
}

stop() {
  local pid stopped=0 i
  if pid=$(our_pid); then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 120; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
      say "Neo4j (pid $pid) did not stop within 60s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    say "Neo4j stopped (pid $pid)"
    stopped=1
  fi
  rm -f "$PIDFILE" "$PORTFILE" "$READY"
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1 \
    && [[ -n $(docker ps -aq --filter "name=^/${CONTAINER}\$") ]]; then
    docker rm -f "$CONTAINER" >/dev/null
    say "Neo4j container $CONTAINER removed"
    stopped=1
  fi
  ((stopped)) || say "Neo4j is not running"
}

status() {
  local pid
  if pid=$(our_pid); then
    if [[ -f $READY ]] && bolt_probe "$(cat "$PORTFILE" 2>/dev/null || echo "$PORT")"; then
      say "Neo4j running (pid $pid) on bolt://127.0.0.1:$(cat "$PORTFILE" 2>/dev/null || echo "$PORT")"
      return 0
    fi
    say "Neo4j starting (pid $pid), not answering yet"
    return 1
  fi
  if command -v docker >/dev/null 2>&1 && docker_running && bolt_probe "$PORT"; then
    say "Neo4j running (container $CONTAINER) on $URI"
    return 0
  fi
  if bolt_probe "$PORT"; then
    say "Neo4j not started by this script, but something answers Bolt on $URI"
    return 0
  fi
  say "Neo4j is not running"
  return 1
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) say "usage: $0 start|stop|status   (env: NEO4J_PORT, default 7687)"; exit 2 ;;
esac
