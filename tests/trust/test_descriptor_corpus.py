"""Malformed descriptors (issue 9): a generated corpus of bad files mixed with good ones,
ingested through the real CLI in a subprocess, from a git repository and from a plain folder.

Goal: exit 0, every bad file named (``file:line`` where it has a line), every good entity
stored, not one byte from outside the source read (a secret file outside it is the target
of every escape; its content must appear nowhere), memory bounded. Prints the figures.
Short in `make test`; `make fuzz` (STAGEGRAPH_FUZZ=long) runs the large form.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from graph import open_store
from tests.api.server import STAGEGRAPH, env
from tests.gitrepo import GitRepo
from tests.trust.corpus import (
    ANY_LINE,
    SECRET_MARKER,
    Corpus,
    build_git_corpus,
    build_plain_corpus,
    write_secret,
)
from tests.trust.scale import LONG, scaled

#: what `make test` may spend on the whole suite here, with the machine shared
RUN_TIMEOUT_SECONDS = 600
PEAK_RSS_LIMIT_MB = 600
_NAMED = re.compile(r"([^\s:]+\.(?:yaml|yml|fifo|txt|png))((?::\d+)*):")


@dataclass(frozen=True)
class Ingest:
    returncode: int
    output: str
    seconds: float
    peak_rss_mb: float


def _ingest(store_url: str, source: Path, name: str, workdir: Path) -> Ingest:
    """``stagegraph ingest git`` in a subprocess; its own peak RSS from ``wait4``."""
    stdout, stderr = workdir / f"{name}.out", workdir / f"{name}.err"
    started = time.perf_counter()
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [STAGEGRAPH, "ingest", "git", str(source), "--name", name],
            env=env(store_url),
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
        )
        deadline = started + RUN_TIMEOUT_SECONDS
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                process.send_signal(signal.SIGKILL)
                os.wait4(process.pid, 0)
                raise AssertionError(f"ingest of {source} hung for {RUN_TIMEOUT_SECONDS}s")
            time.sleep(0.05)
    process.returncode = os.waitstatus_to_exitcode(status)
    output = stdout.read_text(errors="replace") + stderr.read_text(errors="replace")
    return Ingest(
        process.returncode,
        output,
        time.perf_counter() - started,
        usage.ru_maxrss / 1024,  # KiB on Linux
    )


def _named(output: str) -> dict[str, set[int | None]]:
    """Every ``path[:line[:column]]:`` the output names: path -> lines (None: no line)."""
    found: dict[str, set[int | None]] = {}
    for path, numbers in _NAMED.findall(output):
        lines = numbers.split(":")[1:]
        found.setdefault(path, set()).add(int(lines[0]) if lines else None)
    return found


def _unnamed(corpus: Corpus, output: str) -> list[str]:
    named = _named(output)
    missing = []
    for bad in corpus.bad:
        lines = named.get(bad.path, set())
        if bad.line is None:
            ok = bool(lines)
        elif bad.line == ANY_LINE:
            ok = any(line is not None for line in lines)
        else:
            ok = bad.line in lines
        if not ok:
            missing.append(
                f"{bad.path} ({bad.kind}; line {bad.line}): named {sorted(map(str, lines))}"
            )
    return missing


async def _stored(store_url: str, refs: set[str]) -> set[str]:
    store = open_store(store_url)
    await store.setup()
    try:
        found: set[str] = set()
        wanted = sorted(refs)
        for start in range(0, len(wanted), 500):
            entities = await store.get_entities(wanted[start : start + 500])
            found.update(entity.ref.lower() for entity in entities.values())
        return found
    finally:
        await store.close()


def test_malformed_descriptor_corpus_never_aborts_leaks_or_loses(tmp_path: Path) -> None:
    secret = write_secret(tmp_path / "outside")
    repo = GitRepo(tmp_path / "repo")
    in_git = Corpus(repo.path, secret)
    build_git_corpus(
        in_git,
        per_kind=scaled(60, 600),
        good=scaled(200, 5000),
        documents=scaled(2000, 5000),
        big=scaled(1_200_000, 10_000_000),
    )
    repo.commit()
    plain = Corpus(tmp_path / "plain", secret)
    plain.root.mkdir()
    build_plain_corpus(
        plain,
        fifos=scaled(5, 50),
        sparse_sizes=[10_000_000, 100_000_000] * scaled(1, 10),
        good=scaled(20, 500),
    )
    store_url = f"sqlite:///{tmp_path / 'store.db'}"

    runs = {
        "git repository": (in_git, _ingest(store_url, repo.path, "corpus-git", tmp_path)),
        "plain folder": (plain, _ingest(store_url, plain.root, "corpus-plain", tmp_path)),
    }

    for where, (corpus, run) in runs.items():
        kinds = Counter(bad.kind for bad in corpus.bad)
        print(
            f"\ndescriptor corpus ({'long' if LONG else 'short'}), {where}: {corpus.files} files, "
            f"{len({b.path for b in corpus.bad})} bad files ({len(corpus.bad)} problems, "
            f"{len(kinds)} kinds), {len(corpus.good)} good entities; exit {run.returncode} in "
            f"{run.seconds:.1f}s, peak RSS {run.peak_rss_mb:.0f} MB, "
            f"{len(run.output.splitlines())} output lines"
        )
    for where, (corpus, run) in runs.items():
        assert run.returncode == 0, f"{where}: {run.output[-3000:]}"
        assert SECRET_MARKER not in run.output, where
        assert _unnamed(corpus, run.output) == [], where
        assert run.peak_rss_mb < PEAK_RSS_LIMIT_MB, where
    in_git_bad = {bad.path for bad in in_git.bad}
    assert len(in_git_bad) >= scaled(1000, 10000)
    good = in_git.good | plain.good
    assert asyncio.run(_stored(store_url, good | {"component:default/leaked-secret"})) == good
    for stored_file in tmp_path.glob("store.db*"):
        assert SECRET_MARKER.encode() not in stored_file.read_bytes(), stored_file.name
