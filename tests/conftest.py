"""Shared fixtures: a store fixture parametrized over both adapters, so every test that uses
``store`` runs unchanged on SQLite and on a real Neo4j.

Neo4j tests wipe the database they use, so they use only a server meant for it:

- ``STAGEGRAPH_TEST_NEO4J_URL`` when set: naming a server is the consent to wipe it
  (``scripts/with-neo4j.sh``, which ``make test`` runs, names the one it started; set to
  the empty string, the tests have no Neo4j). It may name several, comma-separated (lanes:
  ``make test`` starts one per pytest-xdist worker): each worker then uses its own, see
  :func:`lane_url`;
- else ``bolt://127.0.0.1:7697``, the tests' own port (never 7687, where ``make neo4j`` and
  ``docker compose up`` publish theirs), and only when that server carries the throwaway
  mark of ``scripts/neo4j.sh`` (the user :data:`MARKER_USER`); a server without it is not
  touched.

User ``neo4j``, password ``stagegraph``. When no server is usable the tests are skipped with
the reason, unless ``STAGEGRAPH_REQUIRE_NEO4J=1``, where they fail.
"""

from __future__ import annotations

import functools
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from neo4j import AsyncGraphDatabase
from neo4j.exceptions import Neo4jError, ServiceUnavailable

from graph import open_store
from graph.port import GraphStore

DEFAULT_TEST_NEO4J_URL = "bolt://127.0.0.1:7697"
NEO4J_URL_NAMED = "STAGEGRAPH_TEST_NEO4J_URL" in os.environ
NEO4J_URLS = [
    url.strip()
    for url in os.environ.get("STAGEGRAPH_TEST_NEO4J_URL", DEFAULT_TEST_NEO4J_URL).split(",")
]


def lane_url(urls: list[str], worker: str | None, workers: int) -> str:
    """The server of this process's lane: with a server per pytest-xdist worker (``workers``
    no more than ``urls``), worker ``gwN`` has the N-th, and no other worker touches it;
    otherwise (no xdist, or fewer servers than workers) the first, and the scheduler below
    runs every Neo4j test on one worker."""
    if worker and worker.startswith("gw") and worker[2:].isdigit() and 0 < workers <= len(urls):
        return urls[int(worker[2:]) % len(urls)]
    return urls[0]


NEO4J_URL = lane_url(
    NEO4J_URLS,
    os.environ.get("PYTEST_XDIST_WORKER"),
    int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0")),
)
NEO4J_USER = os.environ.get("NEO4J_USER", "neo4j")
NEO4J_PASSWORD = os.environ.get("NEO4J_PASSWORD", "stagegraph")
REQUIRE_NEO4J = os.environ.get("STAGEGRAPH_REQUIRE_NEO4J") == "1"
MARKER_USER = "stagegraph_throwaway"  # created by scripts/neo4j/DevNeo4j.java at start


class NotThrowaway(Exception):
    """The Neo4j at ``url`` was neither named for the tests nor marked as a throwaway."""

    def __init__(self, url: str) -> None:
        super().__init__(
            f"the Neo4j at {url} does not carry the mark of scripts/neo4j.sh (user "
            f"{MARKER_USER}), so the tests will not wipe it: run them with `make test`, or "
            "name a server they may wipe in STAGEGRAPH_TEST_NEO4J_URL"
        )
        self.url = url


async def is_throwaway(url: str, marker: str = MARKER_USER) -> bool:
    """Whether the server at ``url`` has the marker user its throwaway start created."""
    driver = AsyncGraphDatabase.driver(url, auth=(NEO4J_USER, NEO4J_PASSWORD))
    try:
        records, _, _ = await driver.execute_query(
            "SHOW USERS YIELD user WHERE user = $marker RETURN user",
            marker=marker,
            database_="system",
        )
        return bool(records)
    finally:
        await driver.close()


async def guarded_wipe(url: str, *, named: bool, marker: str = MARKER_USER) -> None:
    """Delete everything in the database at ``url``, if the tests may: it was ``named`` for
    them, or it carries ``marker``. Raises :class:`NotThrowaway` otherwise."""
    if not named and not await is_throwaway(url, marker):
        raise NotThrowaway(url)
    driver = AsyncGraphDatabase.driver(url, auth=(NEO4J_USER, NEO4J_PASSWORD))
    try:
        # in batches (an auto-commit transaction): one transaction holding every deletion
        # of a 100k-entity graph a bench left behind runs out of memory
        async with driver.session() as session:
            result = await session.run(
                "MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 5000 ROWS"
            )
            await result.consume()
    finally:
        await driver.close()


_neo4j_state: dict[str, str | None] = {}


async def _neo4j_unavailable() -> str | None:
    """None when a Neo4j the tests may wipe answers, else why not (checked once per session)."""
    if "reason" not in _neo4j_state and not NEO4J_URL:
        _neo4j_state["reason"] = "STAGEGRAPH_TEST_NEO4J_URL is empty (no Neo4j for the tests)"
    if "reason" not in _neo4j_state:
        driver = AsyncGraphDatabase.driver(NEO4J_URL, auth=(NEO4J_USER, NEO4J_PASSWORD))
        try:
            await driver.verify_connectivity()
            usable = NEO4J_URL_NAMED or await is_throwaway(NEO4J_URL)
            _neo4j_state["reason"] = None if usable else str(NotThrowaway(NEO4J_URL))
        except (ServiceUnavailable, Neo4jError, OSError) as exc:
            _neo4j_state["reason"] = (
                f"Neo4j not reachable at {NEO4J_URL} ({exc.__class__.__name__})"
            )
        finally:
            await driver.close()
    return _neo4j_state["reason"]


async def require_neo4j() -> None:
    reason = await _neo4j_unavailable()
    if reason is None:
        return
    if REQUIRE_NEO4J:
        pytest.fail(f"{reason}; STAGEGRAPH_REQUIRE_NEO4J=1 makes this a failure", pytrace=False)
    pytest.skip(
        f"{reason}: run the tests with `make test` (or scripts/with-neo4j.sh), which starts "
        "one (STAGEGRAPH_REQUIRE_NEO4J=1 to fail)"
    )


async def wipe_neo4j() -> None:
    """Remove everything from the test database, if it is one the tests may wipe (see the
    module docstring); otherwise fail the test (nothing is deleted)."""
    try:
        await guarded_wipe(NEO4J_URL, named=NEO4J_URL_NAMED)
    except NotThrowaway as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(params=["sqlite", "neo4j"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
    else:
        request.applymarker(pytest.mark.neo4j)
        yield NEO4J_URL


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[GraphStore]:
    if not store_url.startswith("sqlite"):
        await require_neo4j()
        await wipe_neo4j()
    graph_store = open_store(store_url, user=NEO4J_USER, password=NEO4J_PASSWORD)
    await graph_store.setup()
    try:
        yield graph_store
    finally:
        await graph_store.close()


_NEO4J_HELPERS = ("NEO4J_URL", "require_neo4j", "wipe_neo4j")
TESTS = Path(__file__).resolve().parent


@functools.cache
def _neo4j_modules() -> frozenset[str]:
    """The test files (paths as in node ids) that use the Neo4j helpers above."""
    return frozenset(
        path.relative_to(TESTS.parent).as_posix()
        for path in TESTS.rglob("test_*.py")
        if any(name in path.read_text(encoding="utf-8") for name in _NEO4J_HELPERS)
    )


def uses_neo4j(nodeid: str) -> bool:
    """Whether a test talks to the tests' one Neo4j: a ``[neo4j]`` parameter, a Neo4j module,
    or a module that uses the Neo4j helpers above. Read from the node id alone, because the
    xdist controller that schedules the tests never collects them."""
    return "neo4j" in nodeid.lower() or nodeid.split("::", 1)[0] in _neo4j_modules()


@functools.cache
def _module_scoped_modules() -> frozenset[str]:
    """The test files with module-scoped fixtures: their tests go to one worker together, so
    the fixture is built once."""
    return frozenset(
        path.relative_to(TESTS.parent).as_posix()
        for path in TESTS.rglob("test_*.py")
        if 'scope="module"' in path.read_text(encoding="utf-8")
    )


def work_unit(nodeid: str, workers: int, lanes: int) -> str:
    """What the xdist scheduler hands a worker as one unit: the test alone, its module when
    the module has module-scoped fixtures, or, when ``workers`` outnumber the Neo4j
    ``lanes``, every test that uses Neo4j together (each wipes the one server)."""
    module = nodeid.split("::", 1)[0]
    if workers > lanes and uses_neo4j(nodeid):
        return "neo4j"
    return module if module in _module_scoped_modules() else nodeid


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under pytest-xdist (`make test` runs ``-n 2 --dist loadgroup``) the tests go out one
    by one (a module with module-scoped fixtures as one unit). With a Neo4j per worker
    (:func:`lane_url`) each worker wipes only its own; with fewer servers than workers every
    test that uses the shared Neo4j runs on one worker, in order, since each wipes that
    database. (xdist's own ``xdist_group`` marks do not group under pytest 9, which no
    longer reads the node id xdist rewrites.)"""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

    class Neo4jLanes(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid, len(self.nodes), len(NEO4J_URLS))

    return Neo4jLanes(config, log)
