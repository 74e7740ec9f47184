"""Two real worker processes sharing one store (a SQLite file; the real Neo4j): runs of one
source never overlap, and a worker killed mid-run is taken over once its lease expires.

The workers are this module run as a program (``python -m tests.ingestors.
test_scheduler_processes``): each opens the store, makes a :class:`Scheduler` on the real
clock and triggers the shared source again and again, printing one JSON line per run it
starts itself. Its git source sleeps ``--delay`` seconds before reading, so runs last.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from graph import open_store
from graph.port import GraphStore, RunRecord
from ingestors.clock import SystemClock
from ingestors.contract import Fetch, SourceType
from ingestors.git import GitSource, git_fetcher
from ingestors.lookup import CatalogLookup
from ingestors.registry import SOURCE_TYPES, SourceTypes
from ingestors.scheduler import Scheduler
from ingestors.snapshot import Snapshot
from ingestors.stream import DescriptorStream
from tests.conftest import NEO4J_PASSWORD, NEO4J_USER
from tests.gitrepo import GitRepo, component, group

ROOT = Path(__file__).resolve().parents[2]
SOURCE = "shared"
TTL = 2.0


# -- the worker program ----------------------------------------------------------------------
def _slow(delay: float) -> SourceTypes:
    def fetcher(source: GitSource, lookup: CatalogLookup) -> Fetch:
        fetch = git_fetcher(source, lookup)

        async def slow() -> Snapshot | DescriptorStream:
            await asyncio.sleep(delay)
            return await fetch()

        return slow

    return SOURCE_TYPES.with_type(SourceType("git", GitSource, fetcher))


def _say(event: str, run_id: str = "") -> None:
    print(json.dumps({"event": event, "run": run_id}), flush=True)


async def _work(args: argparse.Namespace) -> None:
    store = open_store(args.store, user=NEO4J_USER, password=NEO4J_PASSWORD)
    await store.setup()
    source = GitSource(name=SOURCE, url=args.repo, timeout=timedelta(minutes=5))
    scheduler = Scheduler(
        store, [source], SystemClock(), args.owner, source_types=_slow(args.delay), lease_ttl=TTL
    )
    deadline = time.monotonic() + args.seconds
    own = 0
    _say("ready")
    try:
        while time.monotonic() < deadline and not (args.runs and own >= args.runs):
            run_id = await scheduler.trigger(SOURCE)
            if scheduler.active_run(SOURCE) == run_id:
                own += 1
                _say("own", run_id)
                await scheduler.wait(run_id)
                await asyncio.sleep(random.uniform(0, 0.05))  # let the other one in, sometimes
            else:
                await asyncio.sleep(0.02)
    finally:
        await scheduler.stop(grace_seconds=0)
        await store.close()
    _say("done")


def main() -> None:
    parser = argparse.ArgumentParser()
    for option in ("--store", "--owner", "--repo"):
        parser.add_argument(option, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--delay", type=float, required=True)
    parser.add_argument("--runs", type=int, default=0)
    asyncio.run(_work(parser.parse_args()))


# -- the tests -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Event:
    name: str
    run: str
    at: float  # time.monotonic() when the test read it


class Worker:
    """A worker process and the events it printed."""

    def __init__(
        self, owner: str, store_url: str, repo: GitRepo, log: Path, **options: float
    ) -> None:
        self.owner = owner
        self.events: list[Event] = []
        command = [sys.executable, "-m", "tests.ingestors.test_scheduler_processes"]
        command += ["--store", store_url, "--owner", owner, "--repo", str(repo.path)]
        for key, value in options.items():
            command += [f"--{key}", str(value)]
        self._log = log.open("w")
        self.proc = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.PIPE, stderr=self._log, text=True
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            data = json.loads(line)
            self.events.append(Event(data["event"], data["run"], time.monotonic()))

    def seen(self, name: str) -> list[Event]:
        return [e for e in self.events if e.name == name]

    async def wait_for(self, name: str, within: float) -> Event:
        deadline = time.monotonic() + within
        while not self.seen(name):
            if time.monotonic() > deadline or (
                self.proc.poll() is not None and not self.seen(name)
            ):
                await asyncio.sleep(0.1)  # the reader may still hold the last lines
                if self.seen(name):
                    break
                raise AssertionError(f"{self.owner} printed no {name!r}: {self.stderr()}")
            await asyncio.sleep(0.01)
        return self.seen(name)[0]

    async def finish(self, within: float) -> None:
        code = await asyncio.to_thread(self.proc.wait, within)
        self._reader.join(5)
        assert code == 0, f"{self.owner} exited {code}: {self.stderr()}"

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def close(self) -> None:
        self.kill()
        self._reader.join(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._log.close()

    def stderr(self) -> str:
        self._log.flush()
        return Path(self._log.name).read_text()[-3000:]


def _repo(tmp_path: Path) -> GitRepo:
    repo = GitRepo(tmp_path / "repo")
    repo.write("org/catalog-info.yaml", group("team-a"))
    repo.write("services/a/catalog-info.yaml", component("a"))
    repo.commit()
    return repo


def _assert_disjoint(runs: list[RunRecord]) -> None:
    ordered = sorted(runs, key=lambda r: r.started_at)
    for before, after in itertools.pairwise(ordered):
        assert before.finished_at is not None
        assert before.finished_at <= after.started_at, f"{before} overlaps {after}"


async def test_two_workers_never_run_one_source_at_once(
    store: GraphStore, store_url: str, tmp_path: Path
) -> None:
    repo = _repo(tmp_path)
    workers = [
        Worker(f"worker-{n}", store_url, repo, tmp_path / f"{n}.log", seconds=3.5, delay=0.15)
        for n in (1, 2)
    ]
    try:
        for worker in workers:
            await worker.finish(within=30)
    finally:
        for worker in workers:
            worker.close()

    runs = [r for r in await store.get_runs(SOURCE, first=1000) if r.status != "SKIPPED"]
    started = {w.owner: {e.run for e in w.seen("own")} for w in workers}
    assert all(started.values()), f"both workers should have run the source: {started}"
    assert {r.id for r in runs} == started["worker-1"] | started["worker-2"]
    assert {r.status for r in runs} == {"SUCCEEDED"}
    _assert_disjoint(runs)


async def test_a_killed_workers_source_is_taken_over_after_its_lease_expires(
    store: GraphStore, store_url: str, tmp_path: Path
) -> None:
    repo = _repo(tmp_path)
    stuck = Worker("stuck", store_url, repo, tmp_path / "stuck.log", seconds=120, delay=120)
    taker: Worker | None = None
    try:
        held = await stuck.wait_for("own", within=20)
        taker = Worker(
            "taker", store_url, repo, tmp_path / "taker.log", seconds=20, delay=0.1, runs=1
        )
        await taker.wait_for("ready", within=20)
        await asyncio.sleep(0.5)
        assert taker.seen("own") == []  # the lease is held: the taker waits

        stuck.kill()
        killed_at = time.monotonic()
        taken = await taker.wait_for("own", within=TTL + 10)
        await taker.finish(within=20)
    finally:
        stuck.close()
        if taker is not None:
            taker.close()

    waited = taken.at - killed_at
    assert TTL * 2 / 3 - 0.3 <= waited <= TTL + 2.0  # not before the lease expired; soon after
    runs = {r.id: r for r in await store.get_runs(SOURCE, first=1000)}
    dead, alive = runs[held.run], runs[taken.run]
    assert dead.status == "FAILED"
    assert "stopped before it finished" in dead.errors[-1].message
    assert alive.status == "SUCCEEDED"
    _assert_disjoint([r for r in runs.values() if r.status != "SKIPPED"])


if __name__ == "__main__":
    main()
