"""scripts/with-neo4j.sh (what `make test` and `make fuzz` run the tests under) never hands
the tests a Neo4j it did not start, and tests/conftest.py never wipes a server that neither
carries the throwaway mark nor was named for the tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from neo4j import AsyncGraphDatabase

from tests.conftest import (
    NEO4J_PASSWORD,
    NEO4J_URL,
    NEO4J_USER,
    NotThrowaway,
    guarded_wipe,
    is_throwaway,
    require_neo4j,
)

ROOT = Path(__file__).resolve().parents[2]
SHOW_URL = "import os; print('URL=' + repr(os.environ.get('STAGEGRAPH_TEST_NEO4J_URL')))"


@pytest.fixture
def foreign_bolt() -> Iterator[int]:
    """A server on a free loopback port that answers the Bolt handshake (version 5.4), as a
    Neo4j started by someone else (docker compose, say) would."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = int(listener.getsockname()[1])
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    got = b""
                    while len(got) < 20:
                        chunk = conn.recv(20 - len(got))
                        if not chunk:
                            break
                        got += chunk
                    conn.sendall(bytes.fromhex("00000405"))
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        stop.set()
        thread.join()
        listener.close()


def _with_neo4j(env: dict[str, str], *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROOT / "scripts" / "with-neo4j.sh"), *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "STAGEGRAPH_TEST_NEO4J_URL"}
    return {**env, **extra}


def test_with_neo4j_does_not_hand_the_tests_a_server_it_did_not_start(
    foreign_bolt: int, tmp_path: Path
) -> None:
    env = _env(
        STAGEGRAPH_TEST_NEO4J_PORT=str(foreign_bolt),
        STAGEGRAPH_TEST_NEO4J_DIR=str(tmp_path / "neo4j"),
    )

    done = _with_neo4j(env, sys.executable, "-c", SHOW_URL)

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "URL=''"  # empty: the tests have no Neo4j, look nowhere else
    assert f"did not start answers Bolt on bolt://127.0.0.1:{foreign_bolt}" in done.stderr
    assert "no Neo4j of the tests' own" in done.stderr


def test_with_neo4j_passes_a_named_server_through_and_keeps_the_exit_status(
    tmp_path: Path,
) -> None:
    env = _env(
        STAGEGRAPH_TEST_NEO4J_URL="bolt://127.0.0.1:1",
        STAGEGRAPH_TEST_NEO4J_DIR=str(tmp_path / "neo4j"),
    )

    done = _with_neo4j(env, sys.executable, "-c", SHOW_URL + "; raise SystemExit(3)")

    assert done.returncode == 3
    assert done.stdout.strip() == "URL='bolt://127.0.0.1:1'"
    assert not (tmp_path / "neo4j").exists()  # nothing started


def test_tests_default_to_a_port_of_their_own_not_the_usual_7687() -> None:
    env = _env()
    script = "import tests.conftest as c; print(c.NEO4J_URL, c.NEO4J_URL_NAMED)"

    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )

    assert done.stdout.split() == ["bolt://127.0.0.1:7697", "False"]


async def _count(url: str) -> int:
    driver = AsyncGraphDatabase.driver(url, auth=(NEO4J_USER, NEO4J_PASSWORD))
    try:
        records, _, _ = await driver.execute_query("MATCH (n:WipeProbe) RETURN count(n) AS n")
        return int(records[0]["n"])
    finally:
        await driver.close()


async def _probe(url: str) -> None:
    driver = AsyncGraphDatabase.driver(url, auth=(NEO4J_USER, NEO4J_PASSWORD))
    try:
        await driver.execute_query("CREATE (:WipeProbe)")
    finally:
        await driver.close()


async def test_a_server_without_the_mark_is_not_wiped_unless_named() -> None:
    await require_neo4j()
    await _probe(NEO4J_URL)

    with pytest.raises(NotThrowaway, match="will not wipe it"):
        await guarded_wipe(NEO4J_URL, named=False, marker="stagegraph_someone_elses")
    kept = await _count(NEO4J_URL)
    await guarded_wipe(NEO4J_URL, named=True, marker="stagegraph_someone_elses")

    assert kept >= 1
    assert await _count(NEO4J_URL) == 0


async def test_a_server_scripts_neo4j_started_carries_the_mark_and_is_wiped() -> None:
    await require_neo4j()
    if not await is_throwaway(NEO4J_URL):
        pytest.skip(f"{NEO4J_URL} was not started by this checkout's scripts/neo4j.sh")
    await _probe(NEO4J_URL)

    await guarded_wipe(NEO4J_URL, named=False)

    assert await _count(NEO4J_URL) == 0
