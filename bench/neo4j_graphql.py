"""@neo4j/graphql (npm, pinned in ``bench/peers/package-lock.json``) as a child process:
``bench/peers/neo4j-graphql.js`` serves it with graphql-yoga on a free loopback port, over
the Neo4j Stagegraph wrote, with the typeDefs of ``bench/peers/typeDefs.graphql`` (the
labels and relationship types of ``graph/neo4j/schema.py``).
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from bench.backstage import PEERS, PeerError, require_node_modules
from bench.reads import free_port

SCRIPT = PEERS / "neo4j-graphql.js"
START_TIMEOUT = 60.0


@contextmanager
def running_neo4j_graphql(url: str, user: str, password: str, log: Path) -> Iterator[str]:
    """Start the server on the Neo4j at ``url``; yields its root URL (GraphQL at
    ``/graphql``)."""
    require_node_modules()
    port = free_port()
    env = {**os.environ, "NEO4J_URL": url, "NEO4J_USER": user, "NEO4J_PASSWORD": password}
    env["PORT"] = str(port)
    with log.open("w") as output:
        process = subprocess.Popen(
            ["node", str(SCRIPT)], cwd=PEERS, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    root = f"http://127.0.0.1:{port}"
    endpoint = f"{root}/graphql"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise PeerError(f"@neo4j/graphql exited ({process.returncode}); see {log}")
            try:
                answer = httpx.post(endpoint, json={"query": "{ __typename }"}, timeout=5)
                if answer.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise PeerError(f"@neo4j/graphql was not ready in {START_TIMEOUT:.0f} s; see {log}")
            time.sleep(0.2)
        yield root
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
