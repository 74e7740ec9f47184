"""The SQLite file's one connection, living in one worker thread.

SQLite objects stay in the thread that made them, so every call runs on the store's single
worker thread and calls from the event loop never block it. A call is one transaction;
cancelling the caller interrupts its statements (rolling it back) or drops it if it has not
started. Every statement sent through :meth:`Connection.execute` or
:meth:`Connection.executemany` counts as one round trip (:mod:`graph.tracing`).
"""

from __future__ import annotations

import asyncio
import contextvars
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from graph import tracing
from graph.errors import StoreConnectionError, StoreError

T = TypeVar("T")

#: SQLite virtual-machine steps between checks of a job's cancellation (a few microseconds).
_PROGRESS_STEPS = 1000


def path_from_url(url: str) -> str:
    """``sqlite:///rel.db`` -> ``rel.db``; ``sqlite:////abs.db`` -> ``/abs.db``; ``:memory:``."""
    if not url.startswith("sqlite://"):
        raise StoreError(f"not a sqlite URL: {url!r}; use sqlite:///path/to/file.db")
    rest = url.removeprefix("sqlite://")
    if rest in ("", "/", "/:memory:"):
        return ":memory:"
    if not rest.startswith("/"):
        raise StoreError(f"bad sqlite URL {url!r}: use sqlite:///relative.db or sqlite:////abs.db")
    return rest[1:]


class _Job:
    """Where one call to the store's thread is: queued, running, done or cancelled."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.state = "queued"


class Connection:
    """The connection to one SQLite file and the worker thread it lives in. Opens nothing
    in ``__init__``; :meth:`open` connects."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._executor: ThreadPoolExecutor | None = None
        self.queries = 0

    async def call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` in one transaction on the store's thread. Cancelling the caller
        interrupts ``fn``'s statements (rolling it back), or drops ``fn`` if it has not
        started: otherwise a request past its timeout would keep the only thread busy and
        every later request would queue behind it."""
        if self._executor is None or self._conn is None:
            raise StoreError("the store is not open; call setup() first")
        conn = self._conn
        job = _Job()

        def run() -> T:
            with job.lock:
                if job.state == "cancelled":
                    raise StoreError("the request was cancelled before it reached the store")
                job.state = "running"
            # interrupt() is lost when it lands between two statements (an executemany, a
            # job of many statements): the handler stops the next statement too.
            conn.set_progress_handler(lambda: job.state == "cancelled", _PROGRESS_STEPS)
            try:
                with conn:
                    return fn(conn)
            except sqlite3.Error as exc:
                raise StoreError(f"SQLite store {self.path}: {exc}") from exc
            finally:
                conn.set_progress_handler(None, 0)
                with job.lock:
                    job.state = "done"

        context = contextvars.copy_context()  # the request's statement count goes along
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, context.run, run)
        except asyncio.CancelledError:
            with job.lock:  # held, so the thread cannot move on to another caller's work
                if job.state == "running":
                    conn.interrupt()
                job.state = "cancelled"
            raise

    def execute(
        self, conn: sqlite3.Connection, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
    ) -> sqlite3.Cursor:
        self.queries += 1
        tracing.add()
        return conn.execute(sql, params)

    def executemany(
        self, conn: sqlite3.Connection, sql: str, rows: Sequence[Sequence[Any]]
    ) -> None:
        self.queries += 1
        tracing.add()
        conn.executemany(sql, rows)

    async def open(self, prepare: Callable[[sqlite3.Connection], None]) -> None:
        """Connect (WAL mode) on the worker thread and run ``prepare`` (the schema) there;
        idempotent."""
        if self._conn is not None:
            return
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-store")

        def connect() -> sqlite3.Connection:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA busy_timeout = 10000")
            conn.execute("PRAGMA foreign_keys = ON")
            prepare(conn)
            conn.isolation_level = "DEFERRED"
            return conn

        try:
            self._conn = await asyncio.get_running_loop().run_in_executor(self._executor, connect)
        except sqlite3.Error as exc:
            self._executor.shutdown(wait=False)
            self._executor = None
            raise StoreConnectionError(
                f"cannot open SQLite store at {self.path}: {exc}; check the path and permissions"
            ) from exc

    async def close(self) -> None:
        if self._conn is None or self._executor is None:
            return
        conn, self._conn = self._conn, None
        await asyncio.get_running_loop().run_in_executor(self._executor, conn.close)
        self._executor.shutdown(wait=True)
        self._executor = None

    async def ping(self) -> bool:
        try:
            return await self.call(lambda c: self.execute(c, "SELECT 1").fetchone() == (1,))
        except StoreError:
            return False
