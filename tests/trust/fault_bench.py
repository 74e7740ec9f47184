"""The source-fault bench: a real git catalog, the real ``stagegraph ingest git`` run against
it in subprocesses, faults done to the repository, the git process and the ingest process,
and what each run must leave in the store (README, "What an ingestion run does"):

- a source that cannot be read (gone, no commits, git killed) deletes nothing;
- a read that found nothing (every file removed) deletes nothing;
- a YAML error or an unreadable file keeps the entities the file held (and, issue 9
  item 2, everything reachable only through it);
- removing files deletes their entities, unless more than half of the source would go;
- a run killed at any point leaves each entity and relation in its old or its new version,
  and the next run converges to exactly what a fresh ingest of the commit gives.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from graph import open_store
from graph.port import GraphStore, RunRecord
from ingestors.git import ingest_git
from tests.gitrepo import GitRepo
from tests.trust.fault_catalog import (
    ROOT,
    SERVICES,
    CatalogState,
    garble,
    location_files,
    oversized,
    plain_files,
    service_path,
    undecodable,
)
from tests.trust.fault_process import (
    CliResult,
    cli_env,
    finish,
    ingest,
    install_git_wrapper,
    kill,
    real_git,
    run_configured,
    start_ingest,
)
from tests.trust.fault_store import (
    StoreSets,
    consistency_problems,
    read_sets,
    same_as_fresh,
    same_entities,
)

SOURCE = "faults"
MAX_DELETE_SHARE = 0.5


@dataclass
class Figures:
    """What a fault run did, printed at its end."""

    store: str
    faults: Counter[str] = field(default_factory=Counter)
    runs: int = 0
    wrongly_lost: int = 0
    kills: int = 0
    kills_after_start: int = 0
    left_running: int = 0
    guard_refused: int = 0
    orphans_failed: int = 0
    convergence_checks: int = 0
    converged: int = 0

    def report(self) -> str:
        by_type = ", ".join(f"{name} {count}" for name, count in sorted(self.faults.items()))
        return (
            f"source faults ({self.store}): {sum(self.faults.values())} faults injected "
            f"({by_type}); {self.runs} runs; entities wrongly lost: {self.wrongly_lost}; "
            f"kills: {self.kills} ({self.kills_after_start} after the run record was written, "
            f"{self.left_running} runs left RUNNING, {self.orphans_failed} of them then recorded "
            f"FAILED by a leased run); 50% guard refused {self.guard_refused}; "
            f"convergence checks passed: {self.converged}/{self.convergence_checks}"
        )


class FaultBench:
    def __init__(
        self, tmp: Path, store_url: str, store_name: str, user: str, password: str, seed: int
    ) -> None:
        self.tmp = tmp
        self.repo_path = tmp / "repo"
        self.repo = GitRepo(self.repo_path)
        self.store_url = store_url
        self.user = user
        self.password = password
        self.rng = random.Random(seed)
        self.state = CatalogState()
        self.figures = Figures(store_name)
        self.problems: list[str] = []
        self.env = cli_env(user, password)
        self.wrapper = install_git_wrapper(tmp / "fault-bin")
        self.clean_seconds = 2.0  # a clean CLI run, start to exit
        self.run_window = 0.5  # a clean run's RUNNING record, start to finish
        self._written: set[str] = set()
        self._fresh: dict[str, StoreSets] = {}
        self._reader: GraphStore | None = None

    # -- the repository ----------------------------------------------------------------------
    def commit_files(self, files: dict[str, bytes], message: str = "change") -> str:
        for path in self._written - files.keys():
            (self.repo_path / path).unlink()
        for path, data in files.items():
            target = self.repo_path / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        self._written = set(files)
        return self.repo.commit(message)

    def good_files(self) -> dict[str, bytes]:
        return {path: text.encode() for path, text in self.state.files().items()}

    # -- runs and readings -------------------------------------------------------------------
    def run(self, env: dict[str, str] | None = None) -> CliResult:
        self.figures.runs += 1
        return ingest(self.repo_path, SOURCE, self.store_url, env or self.env)

    async def run_killed(self, known_runs: set[str]) -> CliResult:
        """A run SIGKILLed at a random point: mostly while its run record says RUNNING (a
        random time into the window a clean run spends there), else anywhere in the
        process's life (starting up, reading, writing, exiting)."""
        self.figures.runs += 1
        started = time.monotonic()
        proc = start_ingest(self.repo_path, SOURCE, self.store_url, self.env)
        if self.rng.random() < 0.3:
            delay = self.rng.uniform(0.0, self.clean_seconds)
        else:
            await self._until_new_run(proc, known_runs)
            delay = self.rng.uniform(0.0, self.run_window)
        await asyncio.sleep(delay)  # a run that ended meanwhile is not killed
        return finish(proc, started, kill(proc))

    async def _until_new_run(self, proc: subprocess.Popen[str], known_runs: set[str]) -> None:
        store = await self.reader()
        while proc.poll() is None:
            latest = await store.get_runs(SOURCE, first=1)
            if latest and latest[0].id not in known_runs:
                return
            await asyncio.sleep(0.01)

    async def reader(self) -> GraphStore:
        """The bench's own connection to the store, for reading back (opened once)."""
        if self._reader is None:
            store = open_store(self.store_url, user=self.user, password=self.password)
            await store.setup()
            self._reader = store
        return self._reader

    async def reopen(self, password: str) -> None:
        """Connect again with another password (a restarted Neo4j, see OwnNeo4j.restart)."""
        await self.close()
        self.password = password
        self.env = cli_env(self.user, password)

    async def close(self) -> None:
        if self._reader is not None:
            await self._reader.close()
            self._reader = None

    async def read(self) -> StoreSets:
        return await read_sets(await self.reader(), SOURCE)

    async def forget_files(self) -> None:
        """Forget what each file produced last time, so that the next run reads every file
        (unchanged files are otherwise not read again: README, "Keeping it live")."""
        store = await self.reader()
        known = await store.source_files(SOURCE)
        await store.update_source_files(SOURCE, [], list(known))

    async def runs(self) -> list[RunRecord]:
        return await (await self.reader()).get_runs(SOURCE, first=10_000)

    async def fresh(self) -> StoreSets:
        """What a fresh ingest of the current commit writes (into an empty SQLite store)."""
        commit = self.repo.git("rev-parse", "HEAD")
        if commit not in self._fresh:
            store = open_store(f"sqlite:///{self.tmp / f'fresh-{len(self._fresh)}.db'}")
            await store.setup()
            try:
                await ingest_git(store, str(self.repo_path), name=SOURCE)
                self._fresh[commit] = await read_sets(store, SOURCE)
            finally:
                await store.close()
        return self._fresh[commit]

    def fail(self, fault: str, problems: list[str]) -> None:
        if problems:
            number = sum(self.figures.faults.values())
            self.problems.append(f"{fault} (fault {number}): " + "; ".join(problems))

    async def expect(
        self, fault: str, expected: StoreSets, result: CliResult, exit_codes: set[int]
    ) -> None:
        """The run ended with one of ``exit_codes`` and the store holds ``expected``."""
        self.figures.faults[fault] += 1
        actual = await self.read()
        self.figures.wrongly_lost += len(expected.keys - actual.keys)
        problems = same_entities(expected, actual)
        if result.returncode not in exit_codes:
            problems.insert(0, f"expected exit {sorted(exit_codes)}, got {result.describe()}")
        elif result.returncode != 0 and not result.says_why():
            problems.insert(0, f"exit {result.returncode} without saying why: {result.stderr!r}")
        self.fail(fault, problems)

    async def converge(self, evolve: bool = True) -> None:
        """A clean run (of a developer's next commit, or of the same one) gives exactly what a
        fresh ingest gives."""
        if evolve:
            self.state.evolve(self.rng)
        self.commit_files(self.good_files())
        result = self.run()
        if result.returncode == 0:
            self.clean_seconds = result.seconds
            latest = (await self.runs())[0]
            if latest.finished_at is not None:
                self.run_window = (latest.finished_at - latest.started_at).total_seconds()
        problems = same_as_fresh(await self.fresh(), await self.read())
        if result.returncode != 0:
            problems.insert(0, f"clean run: {result.describe()}")
        self.figures.convergence_checks += 1
        if problems:
            self.fail("convergence", problems)
        else:
            self.figures.converged += 1

    # -- faults ------------------------------------------------------------------------------
    async def repository_gone(self) -> None:
        before = await self.read()
        away = self.repo_path.with_name("repo-away")
        self.repo_path.rename(away)
        try:
            result = self.run()
        finally:
            away.rename(self.repo_path)
        await self.expect("repository gone", before, result, {1})

    async def repository_without_commits(self) -> None:
        before = await self.read()
        away = self.repo_path.with_name("repo-away")
        self.repo_path.rename(away)
        try:
            GitRepo(self.repo_path)
            result = self.run()
        finally:
            shutil.rmtree(self.repo_path, ignore_errors=True)
            away.rename(self.repo_path)
        await self.expect("repository without commits", before, result, {1})

    async def repository_emptied(self) -> None:
        before = await self.read()
        self.commit_files({}, "remove every file")
        await self.expect("repository emptied", before, self.run(), {0})

    async def half_removed(self) -> None:
        """Remove 30-70% of the service files: deleted when at most half the source goes."""
        before = await self.read()
        present = [i for i in range(SERVICES) if i not in self.state.absent]
        share = self.rng.uniform(0.3, 0.7)
        removed = {service_path(i) for i in self.rng.sample(present, round(share * len(present)))}
        files = {p: d for p, d in self.good_files().items() if p not in removed}
        self.commit_files(files, "remove services")
        result = self.run()
        after = await self.fresh()
        gone = before.keys - after.keys
        if len(gone) > MAX_DELETE_SHARE * len(before.keys):
            self.figures.guard_refused += 1
            expected = before
        else:
            expected = after
        await self.expect("half the files removed", expected, result, {0})

    async def garbled(self) -> None:
        """Broken YAML in place of good Group, API and service files: all kept."""
        before = await self.read()
        files = self.state.files()
        chosen = self.rng.sample(plain_files(files), self.rng.randint(1, 40))
        data = self.good_files()
        for path in chosen:
            data[path] = garble(files[path], self.rng)
        self.commit_files(data, "garble files")
        await self.expect("garbled files", before, self.run(), {0})

    async def garbled_locations(self) -> None:
        """Location files with a YAML error or too big to read: what they reached is kept."""
        before = await self.read()
        files = self.state.files()
        candidates = [ROOT, *location_files()]
        chosen = self.rng.sample(candidates, self.rng.randint(1, len(candidates)))
        data = self.good_files()
        for path in chosen:
            data[path] = (
                oversized(files[path]) if self.rng.random() < 0.3 else garble(files[path], self.rng)
            )
        self.commit_files(data, "garble Location files")
        await self.expect("unreadable Location files", before, self.run(), {0})

    async def undecodable_files(self) -> None:
        """Files that are not UTF-8 in place of good ones: kept, and the run goes on."""
        before = await self.read()
        files = self.state.files()
        chosen = self.rng.sample(plain_files(files), self.rng.randint(1, 20))
        data = self.good_files()
        for path in chosen:
            data[path] = undecodable(files[path], self.rng)
        self.commit_files(data, "undecodable files")
        await self.expect("undecodable files", before, self.run(), {0})

    async def git_killed(self) -> None:
        """git dies mid-read (``cat-file`` after a random number of bytes, or ``ls-tree``)
        on the commit last read cleanly: nothing may change."""
        before = await self.read()
        if self.rng.random() < 0.15:
            mode = "ls-tree"
        else:
            total = sum(len(d) + 60 for d in self.good_files().values())
            low = 0.0 if self.rng.random() < 0.5 else 0.85  # half of them in the last reads
            mode = f"cat-file:{int(total * self.rng.uniform(low, 1.0))}"
        await self.expect("git killed mid-read", before, self.run(self.git_env(mode)), {0, 1})

    def git_env(self, mode: str) -> dict[str, str]:
        """The CLI's environment with the dying git first on PATH (``FAULT_GIT_KILL=mode``)."""
        env = cli_env(self.user, self.password, self.wrapper)
        return {**env, "FAULT_REAL_GIT": real_git(), "FAULT_GIT_KILL": mode}

    def cat_file_output(self) -> bytes:
        """What ``git cat-file`` writes during a clean run of the current commit."""
        tee = self.tmp / "cat-file.out"
        tee.unlink(missing_ok=True)
        result = self.run(self.git_env(f"tee:{tee}"))
        if result.returncode != 0:
            raise AssertionError(f"recording run failed: {result.describe()}")
        return tee.read_bytes()

    async def ingest_killed(self) -> None:
        """SIGKILL the ingest at a random point of a run that writes a new commit: the store
        holds old or new versions only, and the next run converges."""
        before = await self.read()
        self.state.evolve(self.rng)
        self.commit_files(self.good_files())
        after = await self.fresh()
        runs_before = {r.id for r in await self.runs()}
        result = await self.run_killed(runs_before)
        self.figures.faults["ingest SIGKILLed"] += 1
        actual = await self.read()
        self.figures.wrongly_lost += len((before.keys & after.keys) - actual.keys)
        self.fail("ingest SIGKILLed", consistency_problems(before, after, actual))
        if result.killed:
            self.figures.kills += 1
            runs = await self.runs()
            new = [r for r in runs if r.id not in runs_before]
            if new:
                self.figures.kills_after_start += 1
            self.figures.left_running += sum(r.status == "RUNNING" for r in new)
        await self.converge(evolve=False)

    async def settle_orphans(self) -> None:
        """Runs of killed ``ingest git`` processes stay RUNNING (that command takes no lease).
        A run of the configured source (``ingest --config``, which takes the source's lease)
        records them FAILED, and it converges like any other run."""
        orphans = await self._running()
        config = self.tmp / "stagegraph.yaml"
        config.write_text(
            f"store: {self.store_url}\n"
            f"sources:\n  - name: {SOURCE}\n    type: git\n    url: {self.repo_path}\n"
        )
        self.figures.runs += 1
        result = run_configured(config, SOURCE, self.env)
        problems = same_as_fresh(await self.fresh(), await self.read())
        if result.returncode != 0:
            problems.insert(0, f"ingest --config: {result.describe()}")
        if left := await self._running():
            problems.append(f"runs still RUNNING after a leased run: {left}")
        self.figures.convergence_checks += 1
        if problems:
            self.fail("leased run after kills", problems)
        else:
            self.figures.converged += 1
            self.figures.orphans_failed += len(orphans)

    async def _running(self) -> list[str]:
        runs = await self.runs()
        return [r.id for r in runs if r.status == "RUNNING"]


FAULTS = (
    FaultBench.repository_gone,
    FaultBench.repository_without_commits,
    FaultBench.repository_emptied,
    FaultBench.half_removed,
    FaultBench.garbled,
    FaultBench.git_killed,
    FaultBench.ingest_killed,
    FaultBench.ingest_killed,
)
