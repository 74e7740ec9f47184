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
from contextlib import contextmanager
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
    lane_url,
    require_neo4j,
    work_unit,
)

ROOT = Path(__file__).resolve().parents[2]
SHOW_URL = "import os; print('URL=' + repr(os.environ.get('STAGEGRAPH_TEST_NEO4J_URL')))"


@contextmanager
def _foreign_bolt_on(listener: socket.socket) -> Iterator[int]:
    """Answer the Bolt handshake (version 5.4) on ``listener``, as a Neo4j started by someone
    else (docker compose, say) would; yield its port."""
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


@pytest.fixture
def foreign_bolt() -> Iterator[int]:
    """A foreign Bolt server on a free loopback port."""
    with _foreign_bolt_on(socket.create_server(("127.0.0.1", 0))) as port:
        yield port


@pytest.fixture
def two_foreign_bolts() -> Iterator[int]:
    """Foreign Bolt servers on two consecutive free loopback ports; yields the first."""
    for _ in range(50):
        first = socket.create_server(("127.0.0.1", 0))
        try:
            second = socket.create_server(("127.0.0.1", first.getsockname()[1] + 1))
        except OSError:
            first.close()
            continue
        with _foreign_bolt_on(first) as port, _foreign_bolt_on(second):
            yield port
        return
    pytest.fail("no two consecutive free loopback ports")


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
    own = ("STAGEGRAPH_TEST_NEO4J_URL", "STAGEGRAPH_TEST_NEO4J_SERVERS")
    env = {k: v for k, v in os.environ.items() if k not in own}
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


def test_with_neo4j_uses_no_lane_it_did_not_start(two_foreign_bolts: int, tmp_path: Path) -> None:
    env = _env(
        STAGEGRAPH_TEST_NEO4J_SERVERS="2",
        STAGEGRAPH_TEST_NEO4J_PORT=str(two_foreign_bolts),
        STAGEGRAPH_TEST_NEO4J_DIR=str(tmp_path / "neo4j"),
    )
    show = SHOW_URL + "; print('SERVERS=' + repr(os.environ.get('STAGEGRAPH_TEST_NEO4J_SERVERS')))"

    done = _with_neo4j(env, sys.executable, "-c", show)

    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["URL=''", "SERVERS=None"]
    assert f"lane 2 (port {two_foreign_bolts + 1}) did not start" in done.stderr
    assert f"did not start answers Bolt on bolt://127.0.0.1:{two_foreign_bolts + 1}" in done.stderr
    assert f"no Neo4j of the tests' own on ports {two_foreign_bolts}-" in done.stderr


def test_each_worker_has_the_server_of_its_lane_when_there_is_one_per_worker() -> None:
    urls = ["bolt://127.0.0.1:7697", "bolt://127.0.0.1:7698"]

    assert [lane_url(urls, f"gw{n}", 2) for n in range(2)] == urls
    assert lane_url(urls, None, 0) == urls[0]  # one process: the first
    assert {lane_url(urls, f"gw{n}", 3) for n in range(3)} == {urls[0]}  # more workers: shared
    assert lane_url([""], "gw1", 2) == ""  # no Neo4j: none for any worker


def test_the_neo4j_tests_share_a_worker_only_when_the_workers_share_a_server() -> None:
    contract = "tests/graph/test_store_contract.py::test_upsert_then_get[neo4j]"
    explorer = "tests/api/test_explorer.py::test_the_page_is_served[sqlite]"  # module-scoped
    plain = "tests/catalog/test_refs.py::test_parse"

    assert work_unit(contract, 2, 2) == contract  # a server each: one by one, anywhere
    assert work_unit(contract, 2, 1) == "neo4j"
    assert work_unit(explorer, 2, 2) == "tests/api/test_explorer.py"
    assert work_unit(plain, 2, 1) == plain


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
