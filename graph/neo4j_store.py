"""The production graph store: Neo4j 5.26 over Bolt, through one async driver.

Model. Every node is ``(:Ref {key, ref})``, the key being the lowercased ref under a
uniqueness constraint. An entity is ``:Ref:Entity`` plus a label for its kind (the
capitalised kind: ``:Component``), with its fields and provenance as properties, and what
listings filter on besides: ``spec_type`` and ``lifecycle`` (``spec.type`` and
``spec.lifecycle`` when they are strings), ``annotation_keys`` and ``annotation_pairs``
(each annotation as the JSON array ``[key, value]``). A relation is one relationship of a
fixed type per relation type (``ownedBy`` -> ``OWNED_BY``), stamped with ``source`` and
``run_id`` and keeping both refs as written. A relation whose end is not (or no longer) an
entity points at a placeholder: a bare ``:Ref`` node. Upserting the entity turns the
placeholder into it; deleting an entity that relations still reach turns it back into a
placeholder; placeholders left without relationships are deleted. Run records are
``(:Run {id, source, started_at, status, document})``; a lease is
``(:Lease {name, owner, expires_at})``.

Kinds whose label would be one of the store's own (``ref``, ``entity``, ``run``) get no
kind label, so ``:Run`` only ever means a run record.

Writes are ``UNWIND $rows ... MERGE`` on the constrained key, :data:`BATCH_SIZE` rows per
managed transaction (transient errors retry). Reads are one statement each, except
:meth:`Neo4jStore.impact`, one statement per level of its breadth-first walk (a step there
is one relationship or two, which no path pattern expresses). The Cypher text lives in
:mod:`graph.neo4j_cypher`: only whitelisted relationship types, labels from validated kinds
and validated integers reach it; every value is a parameter.

Listing orders and cursors are the SQLite adapter's: a cursor holds the sort value of the
last row (``toLower(name)``, kind, ``updated_at`` as ISO text, or ``-score`` of the
full-text match, lower first) and its key.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, LiteralString, TypeVar, cast
from urllib.parse import urlsplit, urlunsplit

import orjson
from neo4j import (
    AsyncDriver,
    AsyncGraphDatabase,
    AsyncManagedTransaction,
    NotificationDisabledClassification,
    Record,
)
from neo4j.exceptions import AuthError, DriverError, Neo4jError, ServiceUnavailable, SessionExpired
from neo4j.time import DateTime as Neo4jDateTime

from graph import neo4j_cypher as cypher
from graph import tracing
from graph.errors import StoreConnectionError, StoreError
from graph.neo4j_cypher import REL_NAMES, REL_TYPES, lookup_keys
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

T = TypeVar("T")
Work = Callable[[AsyncManagedTransaction], Awaitable[T]]

#: rows per write transaction
BATCH_SIZE = 2000

_KIND = re.compile(r"^[a-zA-Z][a-zA-Z0-9]*$")
_VIA = ("dependsOn", "consumesApi")  # impact: the rank of a hop -> its name


def kind_labels(kind: str) -> list[str]:
    """The labels an entity of ``kind`` carries besides ``:Ref``: ``:Entity`` and its kind's."""
    if not _KIND.match(kind):
        raise StoreError(f"invalid entity kind {kind!r}: a kind is a letter then letters/digits")
    label = kind.capitalize()
    return ["Entity"] if label in cypher.OWN_LABELS else ["Entity", label]


def _rel_type(name: str) -> str:
    try:
        return REL_TYPES[name]
    except KeyError:
        known = ", ".join(sorted(REL_TYPES))
        raise StoreError(f"unknown relation type {name!r}; known: {known}") from None


def _batches(rows: Sequence[T]) -> list[Sequence[T]]:
    return [rows[i : i + BATCH_SIZE] for i in range(0, len(rows), BATCH_SIZE)]


Statements = list[tuple[LiteralString, list[dict[str, Any]]]]


def _entity_statements(records: Sequence[EntityRecord]) -> Statements:
    """The upserts of ``records``: one statement per kind label, with that kind's rows."""
    by_label: dict[str | None, list[dict[str, Any]]] = {}
    for record in records:
        by_label.setdefault(cypher.KIND_LABELS.get(record.kind), []).append(_entity_row(record))
    return [(cypher.UPSERT_ENTITIES[label], rows) for label, rows in by_label.items()]


def _relation_statements(records: Sequence[RelationRecord]) -> Statements:
    """The upserts of ``records``: one statement per relationship type, with its rows."""
    by_type: dict[str, list[dict[str, Any]]] = {}
    for row in _relation_rows(records):
        by_type.setdefault(row["type"], []).append(row)
    return [(cypher.UPSERT_RELATIONS[rel], rows) for rel, rows in by_type.items()]


def _relation_rows(records: Sequence[RelationRecord]) -> list[dict[str, str]]:
    return [
        {
            "source_key": r.source_ref.lower(),
            "target_key": r.target_ref.lower(),
            "source_ref": r.source_ref,
            "target_ref": r.target_ref,
            "type": _rel_type(r.type),
        }
        for r in records
    ]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _datetime(value: Any) -> datetime:
    """A stored time: a DateTime, or microseconds since the epoch (how entities read it)."""
    if isinstance(value, int):
        return _EPOCH + timedelta(microseconds=value)
    return value.to_native() if isinstance(value, Neo4jDateTime) else cast(datetime, value)


def _entity(e: Mapping[str, Any]) -> StoredEntity:
    return StoredEntity(
        ref=e["ref"],
        kind=e["kind"],
        namespace=e["namespace"],
        name=e["name"],
        document=orjson.loads(e["document"]),
        hash=e["hash"],
        source=e["source"],
        run_id=e["run_id"],
        updated_at=_datetime(e["updated_at"]),
        error=e["error"],
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _entity_row(r: EntityRecord) -> dict[str, Any]:
    spec = r.document.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    metadata = r.document.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    annotations = annotations if isinstance(annotations, dict) else {}
    return {
        "key": r.key,
        "labels": kind_labels(r.kind),
        "props": {
            "ref": r.ref,
            "kind": r.kind,
            "namespace": r.namespace,
            "name": r.name,
            "title": r.title,
            "description": r.description,
            "tags": list(r.tags),
            "tags_text": " ".join(r.tags),
            "document": orjson.dumps(r.document).decode(),
            "hash": r.hash,
            "spec_type": _text(spec.get("type")),
            "lifecycle": _text(spec.get("lifecycle")),
            "annotation_keys": list(annotations),
            "annotation_pairs": [cypher.annotation_pair(k, v) for k, v in annotations.items()],
        },
    }


def _position(order: Order, after: Cursor | str | None) -> dict[str, Any]:
    """The ``$after_value`` / ``$after_key`` parameters for a cursor in ``order``."""
    if isinstance(after, str):
        after = Cursor(after.lower(), after.lower())
    if after is None:
        return {"after_value": None, "after_key": ""}
    value: Any = after.value
    try:
        if order is Order.UPDATED_AT:
            value = datetime.fromisoformat(str(value))
        elif order is Order.RELEVANCE:
            value = float(value)
    except ValueError:
        raise StoreError(
            f"cursor value {after.value!r} is not a position in {order.value} order; "
            "pass a cursor from an earlier page of the same listing"
        ) from None
    return {"after_value": value, "after_key": after.key}


def _cursor(order: Order, value: Any, key: str) -> Cursor:
    if order is Order.UPDATED_AT:
        return Cursor(_datetime(value).isoformat(), key)
    return Cursor(float(value) if order is Order.RELEVANCE else str(value), key)


def _pick_path(
    start: str, goal: str, depths: Mapping[str, int], edges: Sequence[Sequence[str]]
) -> list[str]:
    """Refs along the shortest path the SQLite adapter picks: walking back from the goal,
    the smallest predecessor key one layer nearer each time. ``depths`` holds the goal's
    distance and that of every nearer node; ``edges`` are the edges leaving the nearer
    nodes, as (source key, target key, source ref, target ref)."""
    into: dict[str, list[tuple[str, str, str]]] = {}
    for source_key, target_key, source_ref, target_ref in edges:
        if depths.get(target_key) == depths[source_key] + 1:
            into.setdefault(target_key, []).append((source_key, source_ref, target_ref))
    steps: list[tuple[str, str, str]] = []  # (source key, source ref, target ref), goal first
    here = goal
    while here != start:
        steps.append(min(into[here]))
        here = steps[-1][0]
    return [steps[-1][1], *(target_ref for _, _, target_ref in reversed(steps))]


def _split_url(url: str) -> tuple[str, str | None, str | None, str | None]:
    """``bolt://user:pw@host:7687/db?ctx`` -> (``bolt://host:7687?ctx``, user, pw, db)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    database = parts.path.strip("/") or None
    plain = urlunsplit((parts.scheme, host, "", parts.query, ""))
    return plain, parts.username or None, parts.password, database


class Neo4jStore:
    """:class:`graph.port.GraphStore` over a Neo4j server or cluster (``bolt://``,
    ``neo4j://``); reads go through read transactions, so a cluster serves them from
    followers."""

    def __init__(self, url: str, *, user: str | None, password: str | None) -> None:
        self.url = url
        self._address, url_user, url_password, self._database = _split_url(url)
        self._user = user or url_user or "neo4j"
        self._password = password if password is not None else url_password
        self._driver: AsyncDriver | None = None
        self._queries = 0

    @property
    def query_count(self) -> int:
        return self._queries

    # -- plumbing ------------------------------------------------------------------------
    def _unreachable(self, exc: Exception) -> StoreConnectionError:
        return StoreConnectionError(
            f"Neo4j at {self._address} is unreachable ({exc.__class__.__name__}); check the "
            "URL and that the server runs (`make neo4j` starts a local one)"
        )

    def _translate(self, exc: Exception) -> StoreError:
        if isinstance(exc, AuthError):
            return StoreConnectionError(
                f"Neo4j at {self._address} refused the credentials of user {self._user!r}; "
                "check NEO4J_USER / NEO4J_PASSWORD (or the user:password in the store URL)"
            )
        if isinstance(exc, ServiceUnavailable | SessionExpired | OSError):
            return self._unreachable(exc)
        if isinstance(exc, Neo4jError):
            return StoreError(f"Neo4j at {self._address} refused a request ({exc.code})")
        return StoreError(f"Neo4j at {self._address}: {exc.__class__.__name__}")

    async def _run(
        self, tx: AsyncManagedTransaction, query: LiteralString, **params: Any
    ) -> list[Record]:
        self._queries += 1
        tracing.add()
        result = await tx.run(query, params)
        return [record async for record in result]

    def _statement(self, query: LiteralString, **params: Any) -> Work[list[Record]]:
        """A transaction function running one statement and returning its records."""

        async def work(tx: AsyncManagedTransaction) -> list[Record]:
            return await self._run(tx, query, **params)

        return work

    async def _transact(self, work: Work[T], *, write: bool) -> T:
        if self._driver is None:
            raise StoreError("the store is not open; call setup() first")
        driver = self._driver
        try:
            async with driver.session(
                database=self._database, bookmark_manager=driver.execute_query_bookmark_manager
            ) as session:
                if write:
                    return await session.execute_write(work)
                return await session.execute_read(work)
        except (DriverError, Neo4jError, OSError) as exc:
            raise self._translate(exc) from exc

    async def _write(self, work: Work[T]) -> T:
        return await self._transact(work, write=True)

    async def _read(self, work: Work[T]) -> T:
        return await self._transact(work, write=False)

    # -- lifecycle -----------------------------------------------------------------------
    async def setup(self) -> None:
        if self._driver is not None:
            return
        auth = (self._user, self._password) if self._password is not None else None
        try:
            # Reading a property no entity has yet (``error``) is not worth a warning a read.
            driver = AsyncGraphDatabase.driver(
                self._address,
                auth=auth,
                notifications_disabled_classifications=[
                    NotificationDisabledClassification.UNRECOGNIZED
                ],
            )
        except (DriverError, ValueError) as exc:
            raise StoreConnectionError(
                f"cannot open Neo4j store {self._address!r}: {exc}; "
                "use bolt://host:7687 or neo4j://host:7687"
            ) from exc
        self._driver = driver
        try:
            await self._verify(driver)
            for statement in cypher.SCHEMA:
                await self._write(self._statement(statement))
            await self._write(self._statement("CALL db.awaitIndexes(300)"))
            await self._backfill_run_status()
        except BaseException:
            await self.close()
            raise

    async def _backfill_run_status(self) -> None:
        """Give runs saved before ``status`` was a property theirs, from their documents."""
        rows = await self._read(self._statement(cypher.RUNS_WITHOUT_STATUS))
        if rows:
            status = [
                {"id": r["id"], "status": orjson.loads(r["document"]).get("status")} for r in rows
            ]
            await self._write(self._statement(cypher.SET_RUN_STATUS, rows=status))

    async def _verify(self, driver: AsyncDriver) -> None:
        try:
            await driver.verify_connectivity()
        except (DriverError, Neo4jError, OSError) as exc:
            raise self._translate(exc) from exc

    async def close(self) -> None:
        driver, self._driver = self._driver, None
        if driver is not None:
            await driver.close()

    async def ping(self) -> bool:
        if self._driver is None:
            return False
        try:
            rows = await self._read(self._statement("RETURN 1 AS one"))
        except StoreError:
            return False
        return [r["one"] for r in rows] == [1]

    # -- writes --------------------------------------------------------------------------
    async def upsert_entities(
        self, source: str, run_id: str, records: Sequence[EntityRecord]
    ) -> None:
        now = datetime.now(UTC)
        for batch in _batches(records):
            await self._write_all(_entity_statements(batch), source=source, run_id=run_id, now=now)

    async def upsert_relations(
        self, source: str, run_id: str, records: Sequence[RelationRecord]
    ) -> None:
        for batch in _batches(records):
            await self._write_all(_relation_statements(batch), source=source, run_id=run_id)

    async def _write_all(self, statements: Statements, **params: Any) -> None:
        """One write transaction running each statement with its rows and ``params``."""

        async def work(tx: AsyncManagedTransaction) -> None:
            for query, rows in statements:
                await self._run(tx, query, rows=rows, **params)

        await self._write(work)

    async def touch(self, source: str, run_id: str, keys: Sequence[str], error: str | None) -> None:
        if not keys:
            return
        params = {"keys": lookup_keys(keys), "source": source, "run_id": run_id}

        async def work(tx: AsyncManagedTransaction) -> None:
            await self._run(tx, cypher.TOUCH_ENTITIES, error=error, **params)
            await self._run(tx, cypher.TOUCH_RELATIONS, **params)

        await self._write(work)

    async def stale(self, source: str, run_id: str) -> StaleSummary:
        (row,) = await self._read(self._statement(cypher.STALE, source=source, run_id=run_id))
        stale = sorted(row["stale"])
        kinds: dict[str, int] = {}
        for _, _, kind in stale:
            kinds[kind] = kinds.get(kind, 0) + 1
        return StaleSummary(row["total"], [ref for _, ref, _ in stale], kinds)

    async def delete_stale(self, source: str, run_id: str) -> dict[str, int]:
        drop, retire = cypher.DELETE_STALE

        async def work(tx: AsyncManagedTransaction) -> dict[str, int]:
            await self._run(tx, drop, source=source, run_id=run_id)
            rows = await self._run(tx, retire, source=source, run_id=run_id)
            return {r["kind"]: r["deleted"] for r in rows}

        return await self._write(work)

    async def delete_entities(self, source: str, keys: Sequence[str]) -> int:
        if not keys:
            return 0
        drop, retire = cypher.DELETE_ENTITIES
        params = {"keys": lookup_keys(keys), "source": source}

        async def work(tx: AsyncManagedTransaction) -> int:
            await self._run(tx, drop, **params)
            (row,) = await self._run(tx, retire, **params)
            return int(row["deleted"])

        return await self._write(work)

    async def mutate(
        self,
        source: str,
        run_id: str,
        upserts: Sequence[EntityRecord],
        add_relations: Sequence[RelationRecord],
        remove_relations: Sequence[RelationRecord],
        delete_keys: Sequence[str],
    ) -> None:
        """One write transaction, in the SQLite adapter's order: upsert, remove relations,
        add relations, delete entities (each step in batches, and only when it has rows)."""
        entity_batches = [_entity_statements(batch) for batch in _batches(upserts)]
        add_batches = [_relation_statements(batch) for batch in _batches(add_relations)]
        remove_rows = [
            {"source_key": k, "type": t, "target_key": target}
            for k, t, target in dict.fromkeys(
                (r.source_ref.lower(), REL_TYPES[r.type], r.target_ref.lower())
                for r in remove_relations
                if r.type in REL_TYPES
            )
        ]
        keys = lookup_keys(delete_keys)
        now = datetime.now(UTC)

        async def work(tx: AsyncManagedTransaction) -> None:
            stamp = {"source": source, "run_id": run_id}
            for statements in entity_batches:
                for query, rows in statements:
                    await self._run(tx, query, rows=rows, now=now, **stamp)
            for batch in _batches(remove_rows):
                await self._run(tx, cypher.REMOVE_RELATIONS, rows=batch, source=source)
            for statements in add_batches:
                for query, rows in statements:
                    await self._run(tx, query, rows=rows, **stamp)
            if keys:
                drop, retire = cypher.DELETE_ENTITIES
                await self._run(tx, drop, keys=keys, source=source)
                await self._run(tx, retire, keys=keys, source=source)

        await self._write(work)

    # -- reads ---------------------------------------------------------------------------
    async def get_entities(self, keys: Sequence[str]) -> dict[str, StoredEntity]:
        if not keys:
            return {}
        (row,) = await self._read(self._statement(cypher.GET_ENTITIES, keys=lookup_keys(keys)))
        return {entity.key: entity for entity in map(_entity, row["entities"])}

    async def get_entity_states(self, keys: Sequence[str]) -> dict[str, EntityState]:
        if not keys:
            return {}
        (row,) = await self._read(self._statement(cypher.GET_ENTITY_STATES, keys=lookup_keys(keys)))
        return {key: EntityState(source, hash_, error) for key, source, hash_, error in row[0]}

    async def get_relations(
        self, keys: Sequence[str], direction: Direction, types: Sequence[str] | None = None
    ) -> list[StoredRelation]:
        if not keys:
            return []
        wanted = (
            list(REL_TYPES.values())
            if types is None
            else [REL_TYPES[t] for t in types if t in REL_TYPES]
        )
        (row,) = await self._read(
            self._statement(cypher.GET_RELATIONS[direction], keys=lookup_keys(keys), types=wanted)
        )
        relations = [
            StoredRelation(source_ref, REL_NAMES[rel], target_ref, source, a, b)
            for source_ref, rel, target_ref, source, a, b in row["relations"]
        ]
        relations.sort(key=lambda r: (r.source_ref.lower(), r.type, r.target_ref.lower()))
        return relations

    async def list_entities(
        self,
        flt: EntityFilter,
        first: int,
        after: Cursor | str | None = None,
        order: Order = Order.KEY,
    ) -> Page:
        """One statement. Under ``Order.KEY`` it pages along the key index; the other orders
        compare (sort value, key) with the cursor's, as the SQLite adapter does."""
        match = cypher.entity_match(flt)
        if match is None:
            return Page([], has_next=False)
        if order is Order.RELEVANCE and flt.search is None:
            order = Order.KEY
        query = cypher.list_query(match, order)
        position = _position(order, after)
        (row,) = await self._read(
            self._statement(query, limit=first + 1, **position, **match.params)
        )
        rows: list[list[Any]] = row["page"]
        page = rows[:first]
        entities = [_entity(entity) for entity, _ in page]
        cursors = [
            _cursor(order, value, e.key) for (_, value), e in zip(page, entities, strict=True)
        ]
        return Page(entities, has_next=len(rows) > first, cursors=cursors)

    async def count_entities(self, flt: EntityFilter) -> int:
        match = cypher.entity_match(flt)
        if match is None:
            return 0
        (row,) = await self._read(self._statement(cypher.count_query(match), **match.params))
        return int(row["total"])

    async def traverse(
        self, root_key: str, rel_type: str, direction: Direction, max_depth: int
    ) -> Traversal:
        """One query: ``ANY SHORTEST`` finds, for every node within ``max_depth`` hops, one
        shortest path (a breadth-first search, so cycles end it and depths are minimal);
        the same query then collects the edges leaving the root and every node nearer than
        ``max_depth``, which are exactly the edges between reached nodes the walk followed.
        """
        if direction is Direction.BOTH:
            raise StoreError("traverse follows one direction: OUT or IN")
        if max_depth < 1 or rel_type not in REL_TYPES:
            return Traversal({}, {}, [])
        query = cypher.traverse_query(REL_TYPES[rel_type], direction, max_depth)
        rows = await self._read(self._statement(query, root=root_key.lower(), max_depth=max_depth))
        if not rows:
            return Traversal({}, {}, [])
        reached: list[list[Any]] = rows[0]["reached"]
        edges = sorted(rows[0]["edges"], key=lambda e: (e[0].lower(), e[1].lower()))
        return Traversal(
            depths={key: depth for key, _, depth in reached},
            refs={key: ref for key, ref, _ in reached},
            edges=[TraversalEdge(from_ref, to_ref) for from_ref, to_ref in edges],
        )

    async def expand_groups(self, keys: Sequence[str]) -> list[str]:
        """One statement: a breadth-first search below each group through ``CHILD_OF``."""
        wanted = lookup_keys(keys)
        if not wanted:
            return []
        (row,) = await self._read(self._statement(cypher.EXPAND_GROUPS, keys=wanted))
        return sorted({*wanted, *row["keys"]})

    async def facets(
        self, fields: Sequence[str], flt: EntityFilter, limit: int = 100
    ) -> dict[str, list[tuple[str, int]]]:
        """One statement for all fields: the matching entities are collected once and each
        field is counted over them in its own subquery."""
        unknown = [f for f in fields if f not in cypher.FACET_VALUES]
        if unknown:
            raise StoreError(f"unknown facet fields {unknown}; use {', '.join(FACET_FIELDS)}")
        wanted = list(dict.fromkeys(fields))
        match = cypher.entity_match(flt)
        if not wanted or match is None:
            return {name: [] for name in wanted}
        query = cypher.facets_query(match, wanted)
        (row,) = await self._read(self._statement(query, limit=limit, **match.params))
        return {
            name: [(str(value), int(n)) for value, n in counts]
            for name, counts in zip(wanted, row.values(), strict=True)
        }

    async def impact(self, root_key: str, max_depth: int) -> list[ImpactRow]:
        """A breadth-first walk, one statement per level in one read transaction, until the
        level comes back empty or ``max_depth`` is reached: each level finds what depends on
        the frontier or consumes an API it provides, leaving out what was seen before."""
        root = root_key.lower()

        async def work(tx: AsyncManagedTransaction) -> list[ImpactRow]:
            seen, frontier = {root}, [root]
            found: list[ImpactRow] = []
            for depth in range(1, max_depth + 1):
                (row,) = await self._run(tx, cypher.IMPACT_LEVEL, frontier=frontier)
                level = [
                    ImpactRow(key, ref, depth, _VIA[rank])
                    for key, ref, rank in row["level"]
                    if key not in seen
                ]
                if not level:
                    break
                found += level
                frontier = [r.key for r in level]
                seen.update(frontier)
            return found

        return await self._read(work)

    async def shortest_path(
        self, from_key: str, to_key: str, rel_type: str, max_depth: int
    ) -> list[str] | None:
        """One statement: ``ANY SHORTEST`` gives the distances from the start (a breadth-first
        search); the query returns the layers nearer than the goal with the edges leaving
        them, and the path is picked from those as the SQLite adapter picks it."""
        start, goal = from_key.lower(), to_key.lower()
        if start == goal:
            rows = await self._read(self._statement(cypher.ENTITY_REF, key=start))
            return [rows[0]["ref"] if rows else from_key]
        if max_depth < 1 or rel_type not in REL_TYPES:
            return None
        query = cypher.shortest_path_query(REL_TYPES[rel_type], max_depth)
        rows = await self._read(self._statement(query, start=start, goal=goal))
        if not rows:
            return None
        depths: dict[str, int] = {key: depth for key, depth in rows[0]["depths"]}
        depths[goal] = rows[0]["n"]
        return _pick_path(start, goal, depths, rows[0]["edges"])

    async def dangling(self, first: int, after: tuple[str, str, str] | None = None) -> DanglingPage:
        """One statement, starting from the placeholders (the bare ``:Ref`` nodes)."""
        rows = await self._read(
            self._statement(
                cypher.DANGLING,
                names=REL_NAMES,
                after=list(after) if after else None,
                limit=first + 1,
            )
        )
        relations = [
            StoredRelation(
                r["source_ref"],
                r["type"],
                r["target_ref"],
                r["source"],
                r["source_exists"],
                r["target_exists"],
            )
            for r in rows
        ]
        return DanglingPage(relations[:first], has_next=len(rows) > first)

    async def orphans(self, first: int, after: str | None = None) -> tuple[list[Orphan], bool]:
        rows = await self._read(
            self._statement(
                cypher.ORPHANS,
                kinds=list(OWNED_KINDS),
                after=after.lower() if after else "",
                limit=first + 1,
            )
        )
        orphans = [Orphan(_entity(r["entity"]), r["owner_ref"]) for r in rows[:first]]
        return orphans, len(rows) > first

    async def owned_by(self, owner_keys: Sequence[str], include_subgroups: bool) -> list[str]:
        if not owner_keys:
            return []
        query = cypher.OWNED_BY[include_subgroups]
        (row,) = await self._read(self._statement(query, owners=lookup_keys(owner_keys)))
        return list(row["refs"])

    # -- runs ----------------------------------------------------------------------------
    async def save_run(self, run: RunRecord) -> None:
        await self._write(
            self._statement(
                cypher.SAVE_RUN,
                id=run.id,
                source=run.source,
                started_at=run.started_at.astimezone(UTC),
                status=run.status,
                document=run_to_json(run),
            )
        )

    async def get_runs(
        self,
        source: str | None,
        first: int,
        after: str | None = None,
        status: str | None = None,
    ) -> list[RunRecord]:
        rows = await self._read(
            self._statement(cypher.GET_RUNS, source=source, status=status, after=after, first=first)
        )
        return [run_from_json(r["document"]) for r in rows]

    async def count_runs(self, source: str | None, status: str | None = None) -> int:
        (row,) = await self._read(self._statement(cypher.COUNT_RUNS, source=source, status=status))
        return int(row["total"])

    async def latest_runs(
        self, sources: Sequence[str], statuses: Sequence[str]
    ) -> dict[str, RunRecord]:
        rows = await self._read(
            self._statement(cypher.LATEST_RUNS, sources=list(sources), statuses=list(statuses))
        )
        runs = [run_from_json(r["document"]) for r in rows]
        return {run.source: run for run in runs}

    async def runs_by_id(self, ids: Sequence[str]) -> dict[str, RunRecord]:
        rows = await self._read(self._statement(cypher.RUNS_BY_ID, ids=list(ids)))
        runs = [run_from_json(r["document"]) for r in rows]
        return {run.id: run for run in runs}

    async def prune_runs(self, started_before: datetime) -> int:
        (row,) = await self._write(
            self._statement(cypher.PRUNE_RUNS, before=started_before.astimezone(UTC))
        )
        return int(row["deleted"])

    # -- leases --------------------------------------------------------------------------
    async def acquire_lease(self, name: str, owner: str, now: datetime, until: datetime) -> bool:
        (row,) = await self._write(
            self._statement(
                cypher.ACQUIRE_LEASE,
                name=name,
                owner=owner,
                now=now.astimezone(UTC),
                until=until.astimezone(UTC),
            )
        )
        return bool(row["granted"])

    async def release_lease(self, name: str, owner: str) -> None:
        await self._write(self._statement(cypher.RELEASE_LEASE, name=name, owner=owner))
