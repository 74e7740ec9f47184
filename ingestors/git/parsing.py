"""Parsing descriptor files across processes: libyaml parses ~11k documents a second on one
core, so a catalog of 100k entities spends most of its first read in YAML (and, after it,
validating the documents and turning them into store records).

:class:`ParserPool` is a ``parse_many`` for :func:`ingestors.git.transform.transform_tree`:
a batch of at least :data:`PARALLEL_FROM` files is read by a pool of processes (started
on first use, ``forkserver``: the reading thread's process is never forked), a smaller one
in this process. Either way each file goes through the reader given
(:class:`~ingestors.git.transform.FileReader`: parsed, and its documents prepared for the
store where they need no other file) and the results come back in order, the same as in
this process.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from types import TracebackType
from typing import TypeVar

#: batches smaller than this are parsed in this process (a pool costs a second to start)
PARALLEL_FROM = 256
#: files sent to a worker at a time
CHUNK = 32

T = TypeVar("T")


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1


class ParserPool:
    """Reads batches of (text, path) pairs with a picklable reader (sent with each chunk);
    a context manager that shuts its pool down."""

    def __init__(self, workers: int | None = None, parallel_from: int = PARALLEL_FROM) -> None:
        self._workers = workers or _cores()
        self._parallel_from = parallel_from
        self._pool: ProcessPoolExecutor | None = None

    def __call__(self, read: Callable[[str, str], T], files: Sequence[tuple[str, str]]) -> list[T]:
        if self._workers < 2 or len(files) < self._parallel_from:
            return [read(text, path) for text, path in files]
        if self._pool is None:
            context = multiprocessing.get_context("forkserver")
            self._pool = ProcessPoolExecutor(self._workers, mp_context=context)
        texts = [text for text, _ in files]
        paths = [path for _, path in files]
        return list(self._pool.map(read, texts, paths, chunksize=CHUNK))

    def __enter__(self) -> ParserPool:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
