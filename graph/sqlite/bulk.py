"""Bulk loads (:meth:`graph.port.EntityWriter.bulk_load`): a first ingest into a store with
no entity writes millions of ``entity_fields`` rows, and keeping the index on
(path, value, key) up to date row by row cost most of that write (each row lands at a
random place of the index; 1.9M rows: 12.4 CPU s with it, 8.6 building it at the end).
Inside a bulk load that index and the other secondary indexes of the tables a first ingest
fills (:data:`~graph.sqlite.schema.DEFERRED_INDEXES`) are gone and are built once at the
end, each from its table, sorted.

The indexes a statement names (``INDEXED BY``) stay, and so does the key index of
``entity_fields`` (the writes' facet counts, the trigger that empties an entity's fields and
the ordered reads look rows up by key), so reads inside a bulk load stay correct, only
slower (a filter by field scans instead of seeking). The indexes are rebuilt when the load
ends however it ends (an exception, a cancellation: the rebuild is shielded); a process
that dies inside one leaves them to the next open (:func:`~graph.sqlite.schema.prepare`
creates any that is missing).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from graph.sqlite.connection import Connection
from graph.sqlite.schema import DEFERRED_INDEXES

#: a write of fewer entities keeps its indexes up to date as it goes
BULK_FROM = 5000


async def begin(db: Connection, expected: int) -> bool:
    """Drop the deferred indexes when ``expected`` is large and the store holds no entity;
    returns whether it did."""
    if expected < BULK_FROM:
        return False

    def start(conn: sqlite3.Connection) -> bool:
        if db.execute(conn, "SELECT 1 FROM entities LIMIT 1").fetchone() is not None:
            return False
        for name in DEFERRED_INDEXES:
            db.execute(conn, f"DROP INDEX IF EXISTS {name}")
        return True

    return await db.call(start)


async def end(db: Connection) -> None:
    """Build the deferred indexes (those already there are kept)."""

    def finish(conn: sqlite3.Connection) -> None:
        for statement in DEFERRED_INDEXES.values():
            db.execute(conn, statement)

    await db.call(finish)


@asynccontextmanager
async def bulk_load(db: Connection, expected: int) -> AsyncIterator[bool]:
    deferred = await begin(db, expected)
    try:
        yield deferred
    finally:
        if deferred:
            # a second cancellation leaves the rebuild running on the store's thread
            await asyncio.shield(end(db))
