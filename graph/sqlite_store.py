"""The embedded graph store: one SQLite file in WAL mode.

Entities and forward relations are two tables; traversal and the ownership roll-up are
recursive CTEs; search is an FTS5 table kept beside the entities. One connection lives in
one worker thread (SQLite objects stay in the thread that made them), so calls from the
event loop never block it.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import orjson

from catalog.relations import RELATION_TYPES
from graph import tracing
from graph.errors import StoreConnectionError, StoreError
from graph.port import (
    FACET_FIELDS,
    OWNED_KINDS,
    Cursor,
    DanglingPage,
    Direction,
    EntityFilter,
    EntityRecord,
    EntityState,
    ImpactRow,
    Order,
    Orphan,
    Page,
    RelationRecord,
    RunRecord,
    StaleSummary,
    StoredEntity,
    StoredRelation,
    Traversal,
    TraversalEdge,
)
from graph.runs import run_from_json, run_to_json
from graph.search import fts5_query

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entities (
    key TEXT PRIMARY KEY,
    ref TEXT NOT NULL,
    kind TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    title TEXT,
    description TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    document TEXT NOT NULL,
    hash TEXT NOT NULL,
    source TEXT NOT NULL,
    run_id TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    error TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entities_kind ON entities (kind, key);
CREATE INDEX IF NOT EXISTS entities_namespace ON entities (namespace, key);
CREATE INDEX IF NOT EXISTS entities_source ON entities (source, run_id);
CREATE TABLE IF NOT EXISTS relations (
    source_key TEXT NOT NULL,
    type TEXT NOT NULL,
    target_key TEXT NOT NULL,
    source_ref TEXT NOT NULL,
    target_ref TEXT NOT NULL,
    source TEXT NOT NULL,
    run_id TEXT NOT NULL,
    PRIMARY KEY (source_key, type, target_key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS relations_target ON relations (target_key, type);
CREATE INDEX IF NOT EXISTS relations_type ON relations (type, source_key);
CREATE INDEX IF NOT EXISTS relations_source ON relations (source, run_id);
CREATE VIRTUAL TABLE IF NOT EXISTS entity_search USING fts5 (
    key UNINDEXED, name, title, description, tags, tokenize = 'unicode61'
);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    started_at TEXT NOT NULL,
    document TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_source ON runs (source, started_at);
CREATE TABLE IF NOT EXISTS leases (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires_at TEXT NOT NULL
) WITHOUT ROWID;
"""

#: Columns added after the first release, derived from the document (so writes stay the same).
_GENERATED_COLUMNS = {
    "spec_type": "json_extract(document, '$.spec.type')",
    "lifecycle": "json_extract(document, '$.spec.lifecycle')",
}
_LATE_INDEXES = (
    "CREATE INDEX IF NOT EXISTS entities_type ON entities (spec_type, key)",
    "CREATE INDEX IF NOT EXISTS entities_lifecycle ON entities (lifecycle, key)",
    "CREATE INDEX IF NOT EXISTS entities_name_order ON entities (lower(name), key)",
    "CREATE INDEX IF NOT EXISTS entities_updated_order ON entities (updated_at, key)",
    "CREATE INDEX IF NOT EXISTS runs_status ON runs (status, started_at)",
    # Keys and refs alone: checking that an entity exists, or reading its ref, through the
    # table itself reads its row, document and all (4x slower on the relations of a page,
    # 15x on an ownership roll-up).
    "DROP INDEX IF EXISTS entities_key",
    "CREATE INDEX IF NOT EXISTS entities_key_ref ON entities (key, ref)",
)


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring an older file up to the current schema (idempotent)."""
    present = {row[1] for row in conn.execute("PRAGMA table_xinfo(entities)")}
    for column, expression in _GENERATED_COLUMNS.items():
        if column not in present:
            conn.execute(
                f"ALTER TABLE entities ADD COLUMN {column} TEXT "
                f"GENERATED ALWAYS AS ({expression}) VIRTUAL"
            )
    runs = {row[1] for row in conn.execute("PRAGMA table_xinfo(runs)")}
    if "status" not in runs:
        conn.execute(
            "ALTER TABLE runs ADD COLUMN status TEXT "
            "GENERATED ALWAYS AS (json_extract(document, '$.status')) VIRTUAL"
        )
    for statement in _LATE_INDEXES:
        conn.execute(statement)
    if conn.execute("PRAGMA user_version").fetchone()[0] < 2:
        # search rows are now found by a rowid derived from the key: rebuild them once
        conn.execute("DELETE FROM entity_search")
        conn.executemany(
            "INSERT INTO entity_search (rowid, key, name, title, description, tags) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    _search_id(key),
                    key,
                    name,
                    title or "",
                    description or "",
                    " ".join(orjson.loads(tags)),
                )
                for key, name, title, description, tags in conn.execute(
                    "SELECT key, name, title, description, tags FROM entities"
                )
            ],
        )
        conn.execute("PRAGMA user_version = 2")


#: Sort expression and direction of each order (the key always breaks ties, ascending).
_ORDER_VALUES: dict[Order, tuple[str, str]] = {
    Order.KEY: ("e.key", "ASC"),
    Order.NAME: ("lower(e.name)", "ASC"),
    Order.KIND: ("e.kind", "ASC"),
    Order.UPDATED_AT: ("e.updated_at", "DESC"),
    Order.RELEVANCE: ("s.rank", "ASC"),
}

#: facet field -> (value expression, joins) over ``entities e``.
_FACETS: dict[str, tuple[str, str]] = {
    "kind": ("e.kind", ""),
    "namespace": ("e.namespace", ""),
    "spec.type": ("e.spec_type", ""),
    "spec.lifecycle": ("e.lifecycle", ""),
    "metadata.tags": ("t.value", "JOIN json_each(e.tags) t"),
    "owner": (
        "o.target_ref",
        "JOIN relations o ON o.source_key = e.key AND o.type = 'ownedBy'",
    ),
    "source": ("e.source", ""),
}

_ENTITY_COLUMNS = "e.ref, e.kind, e.namespace, e.name, e.document, e.hash, e.source, e.run_id, e.updated_at, e.error"


def _entity(row: sqlite3.Row | tuple[Any, ...]) -> StoredEntity:
    return StoredEntity(
        ref=row[0],
        kind=row[1],
        namespace=row[2],
        name=row[3],
        document=orjson.loads(row[4]),
        hash=row[5],
        source=row[6],
        run_id=row[7],
        updated_at=datetime.fromisoformat(row[8]),
        error=row[9],
    )


def _iso(moment: datetime) -> str:
    """A sortable UTC timestamp (fixed width, so text order is time order)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _search_id(key: str) -> int:
    """The search row id of an entity key: 63 bits of its SHA-256, so a row is found by id."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") >> 1


def _json(values: Sequence[str]) -> str:
    return orjson.dumps(list(values)).decode()


def _keys(keys: Sequence[str]) -> str:
    """A JSON array of lookup keys (refs lowercased), for ``json_each``."""
    return _json([k.lower() for k in keys])


#: SQLite virtual-machine steps between checks of a job's cancellation (a few microseconds).
_PROGRESS_STEPS = 1000

_UPSERT_ENTITY = """
    INSERT INTO entities (key, ref, kind, namespace, name, title, description, tags,
                          document, hash, source, run_id, updated_at, error)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)
    ON CONFLICT (key) DO UPDATE SET
        ref = excluded.ref, kind = excluded.kind, namespace = excluded.namespace,
        name = excluded.name, title = excluded.title,
        description = excluded.description, tags = excluded.tags,
        document = excluded.document, source = excluded.source,
        run_id = excluded.run_id, error = NULL,
        updated_at = CASE WHEN entities.hash = excluded.hash
                          THEN entities.updated_at ELSE excluded.updated_at END,
        hash = excluded.hash
"""

_UPSERT_RELATION = """
    INSERT INTO relations (source_key, type, target_key, source_ref, target_ref, source, run_id)
    VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (source_key, type, target_key) DO UPDATE SET
        source_ref = excluded.source_ref, target_ref = excluded.target_ref,
        source = excluded.source, run_id = excluded.run_id
"""


def _entity_rows(
    source: str, run_id: str, records: Sequence[EntityRecord]
) -> tuple[list[tuple[Any, ...]], list[tuple[str, ...]]]:
    now = datetime.now(UTC).isoformat()
    rows: list[tuple[Any, ...]] = [
        (
            r.key,
            r.ref,
            r.kind,
            r.namespace,
            r.name,
            r.title,
            r.description,
            _json(r.tags),
            orjson.dumps(r.document).decode(),
            r.hash,
            source,
            run_id,
            now,
        )
        for r in records
    ]
    search_rows: list[tuple[str, ...]] = [
        (r.key, r.name, r.title or "", r.description or "", " ".join(r.tags)) for r in records
    ]
    return rows, search_rows


def _relation_rows(
    source: str, run_id: str, records: Sequence[RelationRecord]
) -> list[tuple[str, ...]]:
    unknown = {r.type for r in records} - set(RELATION_TYPES)
    if unknown:
        raise StoreError(f"unknown relation types {sorted(unknown)}; use catalog.relations types")
    return [
        (
            r.source_ref.lower(),
            r.type,
            r.target_ref.lower(),
            r.source_ref,
            r.target_ref,
            source,
            run_id,
        )
        for r in records
    ]


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


class SqliteStore:
    """:class:`graph.port.GraphStore` over one SQLite file."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.path = path_from_url(url)
        self._conn: sqlite3.Connection | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._queries = 0

    @property
    def query_count(self) -> int:
        return self._queries

    async def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
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

    def _execute(
        self, conn: sqlite3.Connection, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
    ) -> sqlite3.Cursor:
        self._queries += 1
        tracing.add()
        return conn.execute(sql, params)

    def _executemany(
        self, conn: sqlite3.Connection, sql: str, rows: Sequence[Sequence[Any]]
    ) -> None:
        self._queries += 1
        tracing.add()
        conn.executemany(sql, rows)

    async def setup(self) -> None:
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
            conn.executescript(_SCHEMA)
            _migrate(conn)
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
            return await self._call(lambda c: self._execute(c, "SELECT 1").fetchone() == (1,))
        except StoreError:
            return False

    # -- writes --------------------------------------------------------------------------
    async def upsert_entities(
        self, source: str, run_id: str, records: Sequence[EntityRecord]
    ) -> None:
        if not records:
            return
        rows, search_rows = _entity_rows(source, run_id, records)
        await self._call(lambda conn: self._write_entities(conn, source, run_id, rows, search_rows))

    def _write_entities(
        self,
        conn: sqlite3.Connection,
        source: str,
        run_id: str,
        rows: Sequence[tuple[Any, ...]],
        search_rows: Sequence[tuple[str, ...]],
    ) -> None:
        """Upsert ``rows`` (and their search rows). A row stored with the same document and
        source and no error is only restamped with the run id: rewriting it would change
        nothing but cost every index and the search table a delete and an insert."""
        if not rows:
            return
        stored = {
            key: (document, content_hash, stored_source, error)
            for key, document, content_hash, stored_source, error in self._execute(
                conn,
                "SELECT key, document, hash, source, error FROM entities "
                "WHERE key IN (SELECT value FROM json_each(?))",
                (_json([r[0] for r in rows]),),
            )
        }
        same = {r[0] for r in rows if stored.get(r[0]) == (r[8], r[9], source, None)}
        if same:
            # The source guard: a key another process's source took meanwhile keeps its stamp.
            self._execute(
                conn,
                "UPDATE entities SET run_id = ? "
                "WHERE key IN (SELECT value FROM json_each(?)) AND source = ?",
                (run_id, _json(sorted(same)), source),
            )
            rows = [r for r in rows if r[0] not in same]
            search_rows = [r for r in search_rows if r[0] not in same]
        if not rows:
            return
        self._executemany(conn, _UPSERT_ENTITY, rows)
        self._delete_search(conn, [r[0] for r in search_rows if r[0] in stored])
        self._executemany(
            conn,
            "INSERT INTO entity_search (rowid, key, name, title, description, tags) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(_search_id(r[0]), *r) for r in search_rows],
        )

    def _delete_search(self, conn: sqlite3.Connection, keys: Sequence[str]) -> None:
        """Remove search rows by rowid (a lookup), never by the unindexed key (a scan)."""
        if keys:
            self._executemany(
                conn, "DELETE FROM entity_search WHERE rowid = ?", [(_search_id(k),) for k in keys]
            )

    async def upsert_relations(
        self, source: str, run_id: str, records: Sequence[RelationRecord]
    ) -> None:
        if not records:
            return
        rows = _relation_rows(source, run_id, records)
        await self._call(lambda conn: self._executemany(conn, _UPSERT_RELATION, rows))

    async def touch(self, source: str, run_id: str, keys: Sequence[str], error: str | None) -> None:
        if not keys:
            return
        keys_json = _keys(keys)

        def write(conn: sqlite3.Connection) -> None:
            self._execute(
                conn,
                "UPDATE entities SET run_id = ?, error = ? WHERE source = ? "
                "AND key IN (SELECT value FROM json_each(?))",
                (run_id, error, source, keys_json),
            )
            self._execute(
                conn,
                "UPDATE relations SET run_id = ? WHERE source = ? AND "
                "(source_key IN (SELECT value FROM json_each(?)) "
                " OR target_key IN (SELECT value FROM json_each(?)))",
                (run_id, source, keys_json, keys_json),
            )

        await self._call(write)

    async def stale(self, source: str, run_id: str) -> StaleSummary:
        def read(conn: sqlite3.Connection) -> StaleSummary:
            total = self._execute(
                conn, "SELECT count(*) FROM entities WHERE source = ?", (source,)
            ).fetchone()[0]
            rows = self._execute(
                conn,
                "SELECT ref, kind FROM entities WHERE source = ? AND run_id != ? ORDER BY key",
                (source, run_id),
            ).fetchall()
            kinds: dict[str, int] = {}
            for _, kind in rows:
                kinds[kind] = kinds.get(kind, 0) + 1
            return StaleSummary(total, [r[0] for r in rows], kinds)

        return await self._call(read)

    async def delete_stale(self, source: str, run_id: str) -> dict[str, int]:
        def write(conn: sqlite3.Connection) -> dict[str, int]:
            rows = self._execute(
                conn,
                "DELETE FROM entities WHERE source = ? AND run_id != ? RETURNING key, kind",
                (source, run_id),
            ).fetchall()
            self._delete_search(conn, [r[0] for r in rows])
            self._execute(
                conn, "DELETE FROM relations WHERE source = ? AND run_id != ?", (source, run_id)
            )
            kinds: dict[str, int] = {}
            for _, kind in rows:
                kinds[kind] = kinds.get(kind, 0) + 1
            return kinds

        return await self._call(write)

    async def delete_entities(self, source: str, keys: Sequence[str]) -> int:
        if not keys:
            return 0
        keys_json = _keys(keys)
        return await self._call(lambda conn: self._delete_entities(conn, source, keys_json))

    def _delete_entities(self, conn: sqlite3.Connection, source: str, keys_json: str) -> int:
        rows = self._execute(
            conn,
            "DELETE FROM entities WHERE source = ? AND key IN (SELECT value FROM json_each(?)) "
            "RETURNING key",
            (source, keys_json),
        ).fetchall()
        deleted = _json([r[0] for r in rows])
        self._delete_search(conn, [r[0] for r in rows])
        self._execute(
            conn,
            "DELETE FROM relations WHERE source = ? "
            "AND source_key IN (SELECT value FROM json_each(?))",
            (source, deleted),
        )
        return len(rows)

    async def mutate(
        self,
        source: str,
        run_id: str,
        upserts: Sequence[EntityRecord],
        add_relations: Sequence[RelationRecord],
        remove_relations: Sequence[RelationRecord],
        delete_keys: Sequence[str],
    ) -> None:
        entity_rows, search_rows = _entity_rows(source, run_id, upserts)
        add_rows = _relation_rows(source, run_id, add_relations)
        remove_rows = [
            (r.source_ref.lower(), r.type, r.target_ref.lower(), source) for r in remove_relations
        ]
        delete_json = _keys(delete_keys)

        def write(conn: sqlite3.Connection) -> None:
            if entity_rows:
                self._write_entities(conn, source, run_id, entity_rows, search_rows)
            if remove_rows:
                self._executemany(
                    conn,
                    "DELETE FROM relations WHERE source_key = ? AND type = ? AND target_key = ? "
                    "AND source = ?",
                    remove_rows,
                )
            if add_rows:
                self._executemany(conn, _UPSERT_RELATION, add_rows)
            if delete_keys:
                self._delete_entities(conn, source, delete_json)

        await self._call(write)

    # -- reads ---------------------------------------------------------------------------
    async def get_entities(self, keys: Sequence[str]) -> dict[str, StoredEntity]:
        if not keys:
            return {}
        keys_json = _keys(keys)

        def read(conn: sqlite3.Connection) -> dict[str, StoredEntity]:
            rows = self._execute(
                conn,
                f"SELECT {_ENTITY_COLUMNS} FROM entities e "
                "WHERE e.key IN (SELECT value FROM json_each(?))",
                (keys_json,),
            ).fetchall()
            return {entity.key: entity for entity in map(_entity, rows)}

        return await self._call(read)

    async def get_entity_states(self, keys: Sequence[str]) -> dict[str, EntityState]:
        if not keys:
            return {}
        keys_json = _keys(keys)

        def read(conn: sqlite3.Connection) -> dict[str, EntityState]:
            rows = self._execute(
                conn,
                "SELECT key, source, hash, error FROM entities "
                "WHERE key IN (SELECT value FROM json_each(?))",
                (keys_json,),
            ).fetchall()
            return {key: EntityState(source, hash_, error) for key, source, hash_, error in rows}

        return await self._call(read)

    async def get_relations(
        self, keys: Sequence[str], direction: Direction, types: Sequence[str] | None = None
    ) -> list[StoredRelation]:
        if not keys:
            return []
        keys_json = _keys(keys)
        types_json = _json(types) if types is not None else None
        where = {
            Direction.OUT: "r.source_key IN (SELECT value FROM json_each(:keys))",
            Direction.IN: "r.target_key IN (SELECT value FROM json_each(:keys))",
            Direction.BOTH: "(r.source_key IN (SELECT value FROM json_each(:keys)) "
            "OR r.target_key IN (SELECT value FROM json_each(:keys)))",
        }[direction]
        sql = (
            "SELECT r.source_ref, r.type, r.target_ref, r.source, "
            "EXISTS (SELECT 1 FROM entities s INDEXED BY entities_key_ref WHERE s.key = r.source_key), "
            "EXISTS (SELECT 1 FROM entities t INDEXED BY entities_key_ref WHERE t.key = r.target_key) "
            f"FROM relations r WHERE {where} "
            "AND (:types IS NULL OR r.type IN (SELECT value FROM json_each(:types))) "
            "ORDER BY r.source_key, r.type, r.target_key"
        )

        def read(conn: sqlite3.Connection) -> list[StoredRelation]:
            rows = self._execute(conn, sql, {"keys": keys_json, "types": types_json}).fetchall()
            return [StoredRelation(r[0], r[1], r[2], r[3], bool(r[4]), bool(r[5])) for r in rows]

        return await self._call(read)

    @staticmethod
    def _where(flt: EntityFilter) -> tuple[str, dict[str, Any]]:
        clauses = ["1 = 1"]
        params: dict[str, Any] = {}
        if len(flt.kinds) == 1:
            # equality (not IN) lets the (kind, key) index give a page in key order
            clauses.append("e.kind = :kind")
            params["kind"] = flt.kinds[0].lower()
        elif flt.kinds:
            clauses.append("e.kind IN (SELECT value FROM json_each(:kinds))")
            params["kinds"] = _json([k.lower() for k in flt.kinds])
        if flt.namespace is not None:
            clauses.append("e.namespace = :namespace COLLATE NOCASE")
            params["namespace"] = flt.namespace
        if flt.owner_keys:
            clauses.append(
                "EXISTS (SELECT 1 FROM relations o WHERE o.source_key = e.key "
                "AND o.type = 'ownedBy' AND o.target_key IN (SELECT value FROM json_each(:owners)))"
            )
            params["owners"] = _keys(flt.owner_keys)
        if flt.tag is not None:
            clauses.append("EXISTS (SELECT 1 FROM json_each(e.tags) t WHERE t.value = :tag)")
            params["tag"] = flt.tag.lower()
        if flt.source is not None:
            clauses.append("e.source = :source")
            params["source"] = flt.source
        if flt.types:
            clauses.append("e.spec_type IN (SELECT value FROM json_each(:types))")
            params["types"] = _json(flt.types)
        if flt.lifecycles:
            clauses.append("e.lifecycle IN (SELECT value FROM json_each(:lifecycles))")
            params["lifecycles"] = _json(flt.lifecycles)
        if flt.system_keys:
            clauses.append(
                "EXISTS (SELECT 1 FROM relations p WHERE p.source_key = e.key "
                "AND p.type = 'partOf' AND p.target_key IN (SELECT value FROM json_each(:systems)))"
            )
            params["systems"] = _keys(flt.system_keys)
        if flt.annotation is not None:
            clauses.append(
                "EXISTS (SELECT 1 FROM json_each(e.document, '$.metadata.annotations') a "
                "WHERE a.key = :annotation_key AND (:annotation_value IS NULL "
                "OR a.value = :annotation_value))"
            )
            params["annotation_key"], params["annotation_value"] = flt.annotation
        if flt.search is not None:
            query = fts5_query(flt.search)
            if query is None:
                clauses.append("0 = 1")
            else:
                clauses.append(
                    "e.key IN (SELECT key FROM entity_search WHERE entity_search MATCH :search)"
                )
                params["search"] = query
        return " AND ".join(clauses), params

    async def list_entities(
        self,
        flt: EntityFilter,
        first: int,
        after: Cursor | str | None = None,
        order: Order = Order.KEY,
    ) -> Page:
        where, params = self._where(flt)
        search = fts5_query(flt.search) if flt.search is not None else None
        if order is Order.RELEVANCE and search is None:
            order = Order.KEY
        if isinstance(after, str):
            after = Cursor(after.lower(), after.lower())
        value, direction = _ORDER_VALUES[order]
        join = ""
        if order is Order.RELEVANCE:
            join = (
                "JOIN (SELECT key AS hit_key, bm25(entity_search, 0.0, 10.0, 5.0, 1.0, 3.0) "
                "AS rank FROM entity_search WHERE entity_search MATCH :search) s "
                "ON s.hit_key = e.key"
            )
        compare = "<" if direction == "DESC" else ">"
        params.update(
            after_value=after.value if after else None,
            after_key=after.key if after else None,
            limit=first + 1,
        )
        sql = (
            f"SELECT {_ENTITY_COLUMNS}, {value} AS sort_value FROM entities e {join} "
            f"WHERE {where} AND (:after_value IS NULL OR {value} {compare} :after_value "
            f"OR ({value} = :after_value AND e.key > :after_key)) "
            f"ORDER BY {value} {direction}, e.key LIMIT :limit"
        )

        def read(conn: sqlite3.Connection) -> Page:
            rows = self._execute(conn, sql, params).fetchall()[: first + 1]
            page = rows[:first]
            entities = [_entity(r) for r in page]
            cursors = [Cursor(r[-1], e.key) for r, e in zip(page, entities, strict=True)]
            return Page(entities, has_next=len(rows) > first, cursors=cursors)

        return await self._call(read)

    async def count_entities(self, flt: EntityFilter) -> int:
        where, params = self._where(flt)
        sql = f"SELECT count(*) FROM entities e WHERE {where}"

        def read(conn: sqlite3.Connection) -> int:
            return int(self._execute(conn, sql, params).fetchone()[0])

        return await self._call(read)

    async def traverse(
        self, root_key: str, rel_type: str, direction: Direction, max_depth: int
    ) -> Traversal:
        if direction is Direction.BOTH:
            raise StoreError("traverse follows one direction: OUT or IN")
        near, far = ("source", "target") if direction is Direction.OUT else ("target", "source")
        walk = f"""
            WITH RECURSIVE walk(key, ref, depth) AS (
                SELECT :root, :root, 0
                UNION
                SELECT r.{far}_key, r.{far}_ref, w.depth + 1
                FROM relations r JOIN walk w ON r.{near}_key = w.key
                WHERE r.type = :type AND w.depth < :max_depth
            )
            SELECT key, ref, min(depth) FROM walk GROUP BY key
        """
        root = root_key.lower()

        def read(conn: sqlite3.Connection) -> Traversal:
            rows = self._execute(
                conn, walk, {"root": root, "type": rel_type, "max_depth": max_depth}
            ).fetchall()
            depths = {key: depth for key, _, depth in rows}
            refs = {key: ref for key, ref, _ in rows if key != root}
            edges_rows = self._execute(
                conn,
                "SELECT r.source_key, r.target_key, r.source_ref, r.target_ref FROM relations r "
                "WHERE r.type = ? AND r.source_key IN (SELECT value FROM json_each(?)) "
                "AND r.target_key IN (SELECT value FROM json_each(?)) "
                "ORDER BY r.source_key, r.target_key",
                (rel_type, _json(list(depths)), _json(list(depths))),
            ).fetchall()
            edges = []
            for source_key, target_key, source_ref, target_ref in edges_rows:
                near_key = source_key if direction is Direction.OUT else target_key
                if depths[near_key] < max_depth:
                    edges.append(TraversalEdge(source_ref, target_ref))
            depths.pop(root, None)
            return Traversal(depths, refs, edges)

        return await self._call(read)

    async def expand_groups(self, keys: Sequence[str]) -> list[str]:
        sql = """
            WITH RECURSIVE groups(key) AS (
                SELECT value FROM json_each(:keys)
                UNION
                SELECT r.source_key FROM relations r JOIN groups g ON r.target_key = g.key
                WHERE r.type = 'childOf'
            )
            SELECT key FROM groups ORDER BY key
        """

        def read(conn: sqlite3.Connection) -> list[str]:
            return [r[0] for r in self._execute(conn, sql, {"keys": _keys(keys)}).fetchall()]

        return await self._call(read)

    async def facets(
        self, fields: Sequence[str], flt: EntityFilter, limit: int = 100
    ) -> dict[str, list[tuple[str, int]]]:
        unknown = [f for f in fields if f not in _FACETS]
        if unknown:
            raise StoreError(f"unknown facet fields {unknown}; use {', '.join(FACET_FIELDS)}")
        where, params = self._where(flt)
        params["limit"] = limit

        def read(conn: sqlite3.Connection) -> dict[str, list[tuple[str, int]]]:
            found: dict[str, list[tuple[str, int]]] = {}
            for field_name in dict.fromkeys(fields):
                value, joins = _FACETS[field_name]
                sql = (
                    f"SELECT {value} AS value, count(*) AS n FROM entities e {joins} "
                    f"WHERE {where} AND {value} IS NOT NULL "
                    "GROUP BY 1 ORDER BY n DESC, value LIMIT :limit"
                )
                found[field_name] = [
                    (str(v), int(n)) for v, n in self._execute(conn, sql, params).fetchall()
                ]
            return found

        return await self._call(read)

    async def impact(self, root_key: str, max_depth: int) -> list[ImpactRow]:
        # Breadth-first, one statement per level over the frontier only: a recursive CTE
        # re-expands every entity at every depth a cycle or a second path reaches it.
        step = """
            SELECT r.source_key, r.source_ref, 'dependsOn' AS via
            FROM relations r
            WHERE r.type = 'dependsOn' AND r.target_key IN (SELECT value FROM json_each(:keys))
            UNION ALL
            SELECT c.source_key, c.source_ref, 'consumesApi'
            FROM relations p  -- CROSS JOIN keeps p outside: SQLite would scan c by type
            CROSS JOIN relations c ON c.target_key = p.target_key AND c.type = 'consumesApi'
            WHERE p.type = 'providesApi' AND p.source_key IN (SELECT value FROM json_each(:keys))
            ORDER BY 3 DESC, 1
        """
        root = root_key.lower()

        def read(conn: sqlite3.Connection) -> list[ImpactRow]:
            seen = {root}
            found: list[ImpactRow] = []
            frontier = [root]
            for depth in range(1, max_depth + 1):
                level: dict[str, ImpactRow] = {}
                rows = self._execute(conn, step, {"keys": _json(frontier)}).fetchall()
                for key, ref, via in rows:  # dependsOn rows first: preferred on ties
                    if key not in seen and key not in level:
                        level[key] = ImpactRow(key, ref, depth, via)
                if not level:
                    break
                ordered = sorted(level.values(), key=lambda r: (r.via == "consumesApi", r.key))
                found.extend(ordered)
                seen.update(level)
                frontier = list(level)
            return found

        return await self._call(read)

    async def shortest_path(
        self, from_key: str, to_key: str, rel_type: str, max_depth: int
    ) -> list[str] | None:
        start, goal = from_key.lower(), to_key.lower()
        walk = await self.traverse(start, rel_type, Direction.OUT, max_depth)
        if start == goal:
            found = await self.get_entities([start])
            return [found[start].ref] if start in found else [from_key]
        if goal not in walk.depths:
            return None
        predecessors: dict[str, list[str]] = {}
        refs = dict(walk.refs)
        for edge in walk.edges:
            predecessors.setdefault(edge.to_ref.lower(), []).append(edge.from_ref.lower())
            refs.setdefault(edge.from_ref.lower(), edge.from_ref)
        depths = {**walk.depths, start: 0}
        path = [goal]
        while path[-1] != start:
            here = path[-1]
            path.append(min(p for p in predecessors[here] if depths.get(p) == depths[here] - 1))
        return [refs.get(key, key) for key in reversed(path)]

    async def dangling(self, first: int, after: tuple[str, str, str] | None = None) -> DanglingPage:
        sql = """
            SELECT r.source_ref, r.type, r.target_ref, r.source, s.key IS NOT NULL,
                   t.key IS NOT NULL
            FROM relations r
            LEFT JOIN entities s ON s.key = r.source_key
            LEFT JOIN entities t ON t.key = r.target_key
            WHERE (s.key IS NULL OR t.key IS NULL)
              AND (:a IS NULL OR (r.source_key, r.type, r.target_key) > (:a, :b, :c))
            ORDER BY r.source_key, r.type, r.target_key LIMIT :limit
        """
        a, b, c = after if after else (None, None, None)

        def read(conn: sqlite3.Connection) -> DanglingPage:
            rows = self._execute(conn, sql, {"a": a, "b": b, "c": c, "limit": first + 1}).fetchall()
            relations = [
                StoredRelation(r[0], r[1], r[2], r[3], bool(r[4]), bool(r[5])) for r in rows
            ]
            return DanglingPage(relations[:first], has_next=len(rows) > first)

        return await self._call(read)

    async def orphans(self, first: int, after: str | None = None) -> tuple[list[Orphan], bool]:
        sql = f"""
            SELECT {_ENTITY_COLUMNS},
                   (SELECT o.target_ref FROM relations o
                    WHERE o.source_key = e.key AND o.type = 'ownedBy' LIMIT 1) AS owner_ref
            FROM entities e
            WHERE e.kind IN (SELECT value FROM json_each(:kinds))
              AND NOT EXISTS (SELECT 1 FROM relations o JOIN entities t ON t.key = o.target_key
                              WHERE o.source_key = e.key AND o.type = 'ownedBy')
              AND (:after IS NULL OR e.key > :after)
            ORDER BY e.key LIMIT :limit
        """
        params = {
            "kinds": _json(OWNED_KINDS),
            "after": after.lower() if after else None,
            "limit": first + 1,
        }

        def read(conn: sqlite3.Connection) -> tuple[list[Orphan], bool]:
            rows = self._execute(conn, sql, params).fetchall()
            orphans = [Orphan(_entity(r), r[-1]) for r in rows[:first]]
            return orphans, len(rows) > first

        return await self._call(read)

    async def owned_by(self, owner_keys: Sequence[str], include_subgroups: bool) -> list[str]:
        if not owner_keys:
            return []
        sql = """
            WITH RECURSIVE owners(key) AS (
                SELECT value FROM json_each(:owners)
                UNION
                SELECT r.source_key FROM relations r JOIN owners o ON r.target_key = o.key
                WHERE r.type = 'childOf' AND :subgroups
            )
            SELECT DISTINCT e.ref FROM owners o  -- from the owners, not every ownedBy row
            CROSS JOIN relations r ON r.target_key = o.key
            JOIN entities e INDEXED BY entities_key_ref ON e.key = r.source_key
            WHERE r.type = 'ownedBy'
            ORDER BY e.key
        """
        params = {"owners": _json([k.lower() for k in owner_keys]), "subgroups": include_subgroups}

        def read(conn: sqlite3.Connection) -> list[str]:
            return [r[0] for r in self._execute(conn, sql, params).fetchall()]

        return await self._call(read)

    # -- runs ----------------------------------------------------------------------------
    async def save_run(self, run: RunRecord) -> None:
        def write(conn: sqlite3.Connection) -> None:
            self._execute(
                conn,
                "INSERT INTO runs (id, source, started_at, document) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET document = excluded.document",
                (run.id, run.source, _iso(run.started_at), run_to_json(run)),
            )

        await self._call(write)

    async def get_runs(
        self,
        source: str | None,
        first: int,
        after: str | None = None,
        status: str | None = None,
    ) -> list[RunRecord]:
        sql = """
            SELECT r.document FROM runs r
            WHERE (:source IS NULL OR r.source = :source)
              AND (:status IS NULL OR r.status = :status)
              AND (:after IS NULL OR (r.started_at, r.id) <
                   (SELECT a.started_at, a.id FROM runs a WHERE a.id = :after))
            ORDER BY r.started_at DESC, r.id DESC LIMIT :first
        """
        params = {"source": source, "status": status, "after": after, "first": first}

        def read(conn: sqlite3.Connection) -> list[RunRecord]:
            rows = self._execute(conn, sql, params).fetchall()
            return [run_from_json(r[0]) for r in rows]

        return await self._call(read)

    async def count_runs(self, source: str | None, status: str | None = None) -> int:
        sql = (
            "SELECT count(*) FROM runs WHERE (:source IS NULL OR source = :source) "
            "AND (:status IS NULL OR status = :status)"
        )
        params = {"source": source, "status": status}
        return await self._call(lambda c: int(self._execute(c, sql, params).fetchone()[0]))

    async def latest_runs(
        self, sources: Sequence[str], statuses: Sequence[str]
    ) -> dict[str, RunRecord]:
        sql = """
            SELECT document FROM (
                SELECT r.document, row_number() OVER (
                    PARTITION BY r.source ORDER BY r.started_at DESC, r.id DESC) AS n
                FROM runs r
                WHERE r.source IN (SELECT value FROM json_each(:sources))
                  AND r.status IN (SELECT value FROM json_each(:statuses))
            ) WHERE n = 1
        """
        params = {"sources": _json(sources), "statuses": _json(statuses)}

        def read(conn: sqlite3.Connection) -> dict[str, RunRecord]:
            runs = [run_from_json(r[0]) for r in self._execute(conn, sql, params).fetchall()]
            return {run.source: run for run in runs}

        return await self._call(read)

    async def runs_by_id(self, ids: Sequence[str]) -> dict[str, RunRecord]:
        sql = "SELECT document FROM runs WHERE id IN (SELECT value FROM json_each(?))"

        def read(conn: sqlite3.Connection) -> dict[str, RunRecord]:
            runs = [run_from_json(r[0]) for r in self._execute(conn, sql, (_json(ids),))]
            return {run.id: run for run in runs}

        return await self._call(read)

    async def prune_runs(self, started_before: datetime) -> int:
        sql = "DELETE FROM runs WHERE started_at < ? AND status != 'RUNNING'"
        cutoff = _iso(started_before)
        return await self._call(lambda c: self._execute(c, sql, (cutoff,)).rowcount)

    # -- leases --------------------------------------------------------------------------
    async def acquire_lease(self, name: str, owner: str, now: datetime, until: datetime) -> bool:
        sql = """
            INSERT INTO leases (name, owner, expires_at) VALUES (:name, :owner, :until)
            ON CONFLICT (name) DO UPDATE SET owner = excluded.owner,
                expires_at = excluded.expires_at
            WHERE leases.owner = excluded.owner OR leases.expires_at <= :now
            RETURNING owner
        """
        params = {"name": name, "owner": owner, "now": _iso(now), "until": _iso(until)}

        def write(conn: sqlite3.Connection) -> bool:
            row = self._execute(conn, sql, params).fetchone()
            return row is not None and row[0] == owner

        return await self._call(write)

    async def release_lease(self, name: str, owner: str) -> None:
        sql = "DELETE FROM leases WHERE name = ? AND owner = ?"
        await self._call(lambda c: self._execute(c, sql, (name, owner)))
