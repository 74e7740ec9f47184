"""The production graph store: Neo4j 5.26 over Bolt, through one async driver.

Model. Every node is ``(:Ref {key, ref})``, the key being the lowercased ref under a
uniqueness constraint. An entity is ``:Ref:Entity`` plus a label for its kind (the
capitalised kind: ``:Component``), with its fields and provenance as properties. A
relation is one relationship of a fixed type per relation type (``ownedBy`` ->
``OWNED_BY``), stamped with ``source`` and ``run_id`` and keeping both refs as written.
A relation whose end is not (or no longer) an entity points at a placeholder: a bare
``:Ref`` node. Upserting the entity turns the placeholder into it; deleting an entity that
relations still reach turns it back into a placeholder; placeholders left without
relationships are deleted. Run records are ``(:Run {id, source, started_at, document})``.

Kinds whose label would be one of the store's own (``ref``, ``entity``, ``run``) get no
kind label, so ``:Run`` only ever means a run record.

Writes are ``UNWIND $rows ... MERGE`` on the constrained key, :data:`BATCH_SIZE` rows per
managed transaction (transient errors retry). Only whitelisted relationship types, labels
from validated kinds and validated integers reach Cypher text; every value is a parameter.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, LiteralString, TypeVar, cast
from urllib.parse import urlsplit, urlunsplit

import orjson
from neo4j import AsyncDriver, AsyncGraphDatabase, AsyncManagedTransaction, Record
from neo4j.exceptions import AuthError, DriverError, Neo4jError, ServiceUnavailable, SessionExpired
from neo4j.time import DateTime as Neo4jDateTime

from catalog.relations import RELATION_TYPES
from graph.errors import StoreConnectionError, StoreError
from graph.port import (
    Direction,
    EntityFilter,
    EntityRecord,
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
from graph.search import lucene_query

T = TypeVar("T")
Work = Callable[[AsyncManagedTransaction], Awaitable[T]]

#: rows per write transaction
BATCH_SIZE = 2000

#: forward relation type -> relationship type (ownedBy -> OWNED_BY)
REL_TYPES: dict[str, str] = {
    name: re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper() for name in RELATION_TYPES
}
_REL_NAMES: dict[str, str] = {rel: name for name, rel in REL_TYPES.items()}

_KIND = re.compile(r"^[a-zA-Z][a-zA-Z0-9]*$")
_OWN_LABELS = frozenset({"Ref", "Entity", "Run"})

_SCHEMA: tuple[LiteralString, ...] = (
    "CREATE CONSTRAINT ref_key IF NOT EXISTS FOR (n:Ref) REQUIRE n.key IS UNIQUE",
    "CREATE CONSTRAINT entity_ref IF NOT EXISTS FOR (n:Entity) REQUIRE n.ref IS UNIQUE",
    "CREATE CONSTRAINT run_id IF NOT EXISTS FOR (r:Run) REQUIRE r.id IS UNIQUE",
    "CREATE INDEX entity_kind IF NOT EXISTS FOR (n:Entity) ON (n.kind)",
    "CREATE INDEX entity_namespace IF NOT EXISTS FOR (n:Entity) ON (n.namespace)",
    "CREATE INDEX entity_name IF NOT EXISTS FOR (n:Entity) ON (n.name)",
    "CREATE INDEX entity_source IF NOT EXISTS FOR (n:Entity) ON (n.source)",
    "CREATE INDEX entity_run_id IF NOT EXISTS FOR (n:Entity) ON (n.run_id)",
    "CREATE INDEX run_source IF NOT EXISTS FOR (r:Run) ON (r.source)",
    "CREATE INDEX run_started_at IF NOT EXISTS FOR (r:Run) ON (r.started_at)",
    "CREATE FULLTEXT INDEX entity_search IF NOT EXISTS FOR (n:Entity) "
    "ON EACH [n.name, n.title, n.description, n.tags_text]",
    # cleanup finds a source's relationships through these (one per type: Neo4j indexes
    # relationship properties per type)
    *(
        f"CREATE INDEX rel_{rel.lower()}_source IF NOT EXISTS "
        f"FOR ()-[r:{rel}]-() ON (r.source, r.run_id)"
        for rel in REL_TYPES.values()
    ),
)

_UPSERT_ENTITIES: LiteralString = """
UNWIND $rows AS row
MERGE (n:Ref {key: row.key})
WITH n, row, (n:Entity AND n.hash = row.props.hash) AS unchanged
SET n:Entity, n:$(row.labels)
SET n += row.props,
    n.source = $source, n.run_id = $run_id, n.error = null,
    n.updated_at = CASE WHEN unchanged THEN n.updated_at ELSE $now END
"""

# One MERGE per whitelisted type, chosen per row: a dynamic type (``[r:$(row.type)]``)
# works on 5.26 but made 5,000 MERGEs several times slower when we measured.
_UPSERT_RELATIONS: LiteralString = (
    "UNWIND $rows AS row\n"
    "MERGE (s:Ref {key: row.source_key}) ON CREATE SET s.ref = row.source_ref\n"
    "MERGE (t:Ref {key: row.target_key}) ON CREATE SET t.ref = row.target_ref\n"
    + "".join(
        f"FOREACH (_ IN CASE row.type WHEN '{rel}' THEN [1] ELSE [] END |\n"
        f"  MERGE (s)-[r:{rel}]->(t)\n"
        "  SET r.source = $source, r.run_id = $run_id,\n"
        "      r.source_ref = row.source_ref, r.target_ref = row.target_ref)\n"
        for rel in REL_TYPES.values()
    )
)

_TOUCH_ENTITIES: LiteralString = """
MATCH (n:Ref) WHERE n.key IN $keys AND n:Entity AND n.source = $source
SET n.run_id = $run_id, n.error = $error
"""

_TOUCH_RELATIONS: LiteralString = """
MATCH (n:Ref) WHERE n.key IN $keys
MATCH (n)-[r]-() WHERE r.source = $source
SET r.run_id = $run_id
"""

_STALE: LiteralString = """
MATCH (n:Entity) WHERE n.source = $source
RETURN count(n) AS total,
       collect(CASE WHEN n.run_id <> $run_id THEN [n.key, n.ref, n.kind] END) AS stale
"""

# Removes the relationships the caller matched as ``r``, then the placeholders they leave bare.
_DROP_RELATIONSHIPS: LiteralString = """
WITH r, startNode(r) AS a, endNode(r) AS b
DELETE r
WITH collect(a) + collect(b) AS ends
UNWIND ends AS n
WITH DISTINCT n
WHERE NOT n:Entity AND NOT EXISTS { (n)--() }
DELETE n
"""

# Retires the entities the caller matched as ``n``: a placeholder while relationships still
# reach it, otherwise gone. Yields one row per entity with its ``kind``.
_RETIRE_ENTITIES: LiteralString = """
WITH n, n.kind AS kind, [label IN labels(n) WHERE label <> 'Ref'] AS extra
REMOVE n:$(extra)
SET n = {key: n.key, ref: n.ref}
FOREACH (gone IN CASE WHEN EXISTS { (n)--() } THEN [] ELSE [n] END | DELETE gone)
"""

_STALE_RELATIONSHIPS: LiteralString = (
    "CALL () {\n"
    + "\nUNION ALL\n".join(
        f"MATCH ()-[r:{rel}]->() WHERE r.source = $source AND r.run_id <> $run_id RETURN r"
        for rel in REL_TYPES.values()
    )
    + "\n}\n"
)

_DELETE_STALE: tuple[LiteralString, LiteralString] = (
    _STALE_RELATIONSHIPS + _DROP_RELATIONSHIPS,
    "MATCH (n:Entity) WHERE n.source = $source AND n.run_id <> $run_id\n"
    + _RETIRE_ENTITIES
    + "RETURN kind, count(*) AS deleted",
)

_DELETE_ENTITIES: tuple[LiteralString, LiteralString] = (
    "MATCH (n:Ref) WHERE n.key IN $keys AND n:Entity AND n.source = $source\n"
    "MATCH (n)-[r]->() WHERE r.source = $source\n" + _DROP_RELATIONSHIPS,
    "MATCH (n:Ref) WHERE n.key IN $keys AND n:Entity AND n.source = $source\n"
    + _RETIRE_ENTITIES
    + "RETURN count(*) AS deleted",
)

_ENTITY_FIELDS: LiteralString = (
    "e {.ref, .kind, .namespace, .name, .document, .hash, .source, .run_id, .updated_at, .error}"
)

_GET_ENTITIES: LiteralString = (
    "MATCH (e:Ref) WHERE e.key IN $keys AND e:Entity RETURN " + _ENTITY_FIELDS + " AS entity"
)

_GET_RELATIONS_TAIL: LiteralString = """
WHERE type(r) IN $types
WITH DISTINCT r
RETURN r.source_ref AS source_ref, type(r) AS type, r.target_ref AS target_ref,
       r.source AS source, startNode(r):Entity AS source_exists, endNode(r):Entity AS target_exists
"""

_GET_RELATIONS: dict[Direction, LiteralString] = {
    Direction.OUT: "MATCH (n:Ref) WHERE n.key IN $keys MATCH (n)-[r]->()" + _GET_RELATIONS_TAIL,
    Direction.IN: "MATCH (n:Ref) WHERE n.key IN $keys MATCH (n)<-[r]-()" + _GET_RELATIONS_TAIL,
    Direction.BOTH: "MATCH (n:Ref) WHERE n.key IN $keys MATCH (n)-[r]-()" + _GET_RELATIONS_TAIL,
}

_OWNED_BY: dict[bool, LiteralString] = {
    False: """
        MATCH (o:Ref) WHERE o.key IN $owners
        MATCH (e:Entity)-[:OWNED_BY]->(o)
        WITH DISTINCT e
        RETURN e.ref AS ref ORDER BY e.key
    """,
    True: """
        MATCH (o:Ref) WHERE o.key IN $owners
        MATCH (o)<-[:CHILD_OF*0..]-(g)
        WITH DISTINCT g
        MATCH (e:Entity)-[:OWNED_BY]->(g)
        WITH DISTINCT e
        RETURN e.ref AS ref ORDER BY e.key
    """,
}

_SAVE_RUN: LiteralString = """
MERGE (r:Run {id: $id})
ON CREATE SET r.source = $source, r.started_at = $started_at
SET r.document = $document
"""

_GET_RUNS: LiteralString = """
OPTIONAL MATCH (a:Run {id: $after})
WITH a
MATCH (r:Run)
WHERE ($source IS NULL OR r.source = $source)
  AND ($after IS NULL OR (a IS NOT NULL AND (r.started_at < a.started_at
       OR (r.started_at = a.started_at AND r.id < a.id))))
RETURN r.document AS document
ORDER BY r.started_at DESC, r.id DESC LIMIT $first
"""


def kind_labels(kind: str) -> list[str]:
    """The labels an entity of ``kind`` carries besides ``:Ref``: ``:Entity`` and its kind's."""
    if not _KIND.match(kind):
        raise StoreError(f"invalid entity kind {kind!r}: a kind is a letter then letters/digits")
    label = kind.capitalize()
    return ["Entity"] if label in _OWN_LABELS else ["Entity", label]


def _rel_type(name: str) -> str:
    try:
        return REL_TYPES[name]
    except KeyError:
        known = ", ".join(sorted(REL_TYPES))
        raise StoreError(f"unknown relation type {name!r}; known: {known}") from None


def _lower(keys: Sequence[str]) -> list[str]:
    """Lookup keys: lowercased, each once."""
    return list(dict.fromkeys(k.lower() for k in keys))


def _batches(rows: list[T]) -> list[list[T]]:
    return [rows[i : i + BATCH_SIZE] for i in range(0, len(rows), BATCH_SIZE)]


def _datetime(value: Any) -> datetime:
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


def _entity_row(r: EntityRecord) -> dict[str, Any]:
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
        },
    }


def _filter(flt: EntityFilter) -> tuple[LiteralString, dict[str, Any]] | None:
    """The MATCH ... WHERE head binding ``e`` for ``flt`` (keys above ``$after``), or None
    when nothing can match."""
    params: dict[str, Any] = {}
    if flt.search is None:
        head: LiteralString = "MATCH (e:Ref:Entity) WHERE e.key > $after"
    else:
        query = lucene_query(flt.search)
        if query is None:
            return None
        params["search"] = query
        head = (
            "CALL db.index.fulltext.queryNodes('entity_search', $search) YIELD node AS e "
            "WHERE e.key > $after"
        )
    if flt.kinds:
        head += " AND e.kind IN $kinds"
        params["kinds"] = _lower(flt.kinds)
    if flt.namespace is not None:
        head += " AND toLower(e.namespace) = $namespace"
        params["namespace"] = flt.namespace.lower()
    if flt.owner_keys:
        head += " AND EXISTS { MATCH (e)-[:OWNED_BY]->(o:Ref) WHERE o.key IN $owners }"
        params["owners"] = _lower(flt.owner_keys)
    if flt.tag is not None:
        head += " AND $tag IN e.tags"
        params["tag"] = flt.tag.lower()
    if flt.source is not None:
        head += " AND e.source = $source"
        params["source"] = flt.source
    return head, params


def _traverse_query(rel: str, direction: Direction, max_depth: int) -> LiteralString:
    """One query for :meth:`Neo4jStore.traverse` (see there); ``rel`` is whitelisted and
    ``max_depth`` a positive int, the only parts that are not parameters."""
    arrow = f"-[:{rel}]->" if direction is Direction.OUT else f"<-[:{rel}]-"
    edge = f"(a)-[r:{rel}]->()" if direction is Direction.OUT else f"(a)<-[r:{rel}]-()"
    far_ref = "target_ref" if direction is Direction.OUT else "source_ref"
    text = f"""
        MATCH (root:Ref {{key: $root}})
        CALL (root) {{
            MATCH p = ANY SHORTEST (root){arrow}{{1,{int(max_depth)}}}(n)
            WITH n, length(p) AS depth, last(relationships(p)).{far_ref} AS ref
            WHERE n <> root
            RETURN collect([n, n.key, ref, depth]) AS reached
        }}
        CALL (root, reached) {{
            UNWIND [root] + [x IN reached WHERE x[3] < $max_depth | x[0]] AS a
            MATCH {edge}
            RETURN collect([r.source_ref, r.target_ref]) AS edges
        }}
        RETURN [x IN reached | x[1..]] AS reached, edges
    """
    return text


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
            driver = AsyncGraphDatabase.driver(self._address, auth=auth)
        except (DriverError, ValueError) as exc:
            raise StoreConnectionError(
                f"cannot open Neo4j store {self._address!r}: {exc}; "
                "use bolt://host:7687 or neo4j://host:7687"
            ) from exc
        self._driver = driver
        try:
            await self._verify(driver)
            for statement in _SCHEMA:
                await self._write(self._statement(statement))
            await self._write(self._statement("CALL db.awaitIndexes(300)"))
        except BaseException:
            await self.close()
            raise

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
        rows = [_entity_row(r) for r in records]
        now = datetime.now(UTC)
        for batch in _batches(rows):
            await self._write(
                self._statement(_UPSERT_ENTITIES, rows=batch, source=source, run_id=run_id, now=now)
            )

    async def upsert_relations(
        self, source: str, run_id: str, records: Sequence[RelationRecord]
    ) -> None:
        rows = [
            {
                "source_key": r.source_ref.lower(),
                "target_key": r.target_ref.lower(),
                "source_ref": r.source_ref,
                "target_ref": r.target_ref,
                "type": _rel_type(r.type),
            }
            for r in records
        ]
        for batch in _batches(rows):
            await self._write(
                self._statement(_UPSERT_RELATIONS, rows=batch, source=source, run_id=run_id)
            )

    async def touch(self, source: str, run_id: str, keys: Sequence[str], error: str | None) -> None:
        if not keys:
            return
        params = {"keys": _lower(keys), "source": source, "run_id": run_id}

        async def work(tx: AsyncManagedTransaction) -> None:
            await self._run(tx, _TOUCH_ENTITIES, error=error, **params)
            await self._run(tx, _TOUCH_RELATIONS, **params)

        await self._write(work)

    async def stale(self, source: str, run_id: str) -> StaleSummary:
        (row,) = await self._read(self._statement(_STALE, source=source, run_id=run_id))
        stale = sorted(row["stale"])
        kinds: dict[str, int] = {}
        for _, _, kind in stale:
            kinds[kind] = kinds.get(kind, 0) + 1
        return StaleSummary(row["total"], [ref for _, ref, _ in stale], kinds)

    async def delete_stale(self, source: str, run_id: str) -> dict[str, int]:
        drop, retire = _DELETE_STALE

        async def work(tx: AsyncManagedTransaction) -> dict[str, int]:
            await self._run(tx, drop, source=source, run_id=run_id)
            rows = await self._run(tx, retire, source=source, run_id=run_id)
            return {r["kind"]: r["deleted"] for r in rows}

        return await self._write(work)

    async def delete_entities(self, source: str, keys: Sequence[str]) -> int:
        if not keys:
            return 0
        drop, retire = _DELETE_ENTITIES
        params = {"keys": _lower(keys), "source": source}

        async def work(tx: AsyncManagedTransaction) -> int:
            await self._run(tx, drop, **params)
            (row,) = await self._run(tx, retire, **params)
            return int(row["deleted"])

        return await self._write(work)

    # -- reads ---------------------------------------------------------------------------
    async def get_entities(self, keys: Sequence[str]) -> dict[str, StoredEntity]:
        if not keys:
            return {}
        rows = await self._read(self._statement(_GET_ENTITIES, keys=_lower(keys)))
        return {entity.key: entity for entity in (_entity(r["entity"]) for r in rows)}

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
        rows = await self._read(
            self._statement(_GET_RELATIONS[direction], keys=_lower(keys), types=wanted)
        )
        relations = [
            StoredRelation(
                r["source_ref"],
                _REL_NAMES[r["type"]],
                r["target_ref"],
                r["source"],
                r["source_exists"],
                r["target_exists"],
            )
            for r in rows
        ]
        relations.sort(key=lambda r: (r.source_ref.lower(), r.type, r.target_ref.lower()))
        return relations

    async def list_entities(self, flt: EntityFilter, first: int, after: str | None = None) -> Page:
        match = _filter(flt)
        if match is None:
            return Page([], has_next=False)
        head, params = match
        query = head + " RETURN " + _ENTITY_FIELDS + " AS entity ORDER BY e.key LIMIT $limit"
        after_key = after.lower() if after else ""
        rows = await self._read(self._statement(query, after=after_key, limit=first + 1, **params))
        entities = [_entity(r["entity"]) for r in rows[:first]]
        return Page(entities, has_next=len(rows) > first)

    async def count_entities(self, flt: EntityFilter) -> int:
        match = _filter(flt)
        if match is None:
            return 0
        head, params = match
        query = head + " RETURN count(e) AS total"
        (row,) = await self._read(self._statement(query, after="", **params))
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
        query = _traverse_query(REL_TYPES[rel_type], direction, max_depth)
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

    async def owned_by(self, owner_keys: Sequence[str], include_subgroups: bool) -> list[str]:
        if not owner_keys:
            return []
        query = _OWNED_BY[include_subgroups]
        rows = await self._read(self._statement(query, owners=_lower(owner_keys)))
        return [r["ref"] for r in rows]

    # -- runs ----------------------------------------------------------------------------
    async def save_run(self, run: RunRecord) -> None:
        await self._write(
            self._statement(
                _SAVE_RUN,
                id=run.id,
                source=run.source,
                started_at=run.started_at,
                document=run_to_json(run),
            )
        )

    async def get_runs(
        self, source: str | None, first: int, after: str | None = None
    ) -> list[RunRecord]:
        rows = await self._read(self._statement(_GET_RUNS, source=source, after=after, first=first))
        return [run_from_json(r["document"]) for r in rows]
