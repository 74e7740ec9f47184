"""The Neo4j adapter's own shape, checked through the raw driver: schema, labels, relationship
types, placeholders, batching and connection errors."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, LiteralString
from urllib.parse import urlsplit, urlunsplit

import pytest
from neo4j import AsyncDriver

from catalog.changes import ChangeType, EntityChange
from graph.errors import StoreConnectionError, StoreError
from graph.neo4j import Neo4jStore
from graph.neo4j.schema import _SCHEMA_NAME, REL_TYPES, SCHEMA
from graph.neo4j.writes import BATCH_SIZE, BULK_BATCH_SIZE, BULK_WRITERS
from graph.port import (
    FACET_FIELDS,
    Direction,
    EntityFilter,
    FieldCondition,
    Order,
    RunRecord,
    SourceFile,
)
from graph.runs import run_to_json
from tests.conftest import NEO4J_PASSWORD, NEO4J_URL, NEO4J_USER
from tests.factories import record, rel

pytestmark = pytest.mark.neo4j


@pytest.fixture
def store(neo4j_store: Neo4jStore) -> Neo4jStore:
    """The Neo4j store alone (tests/graph/conftest.py), on an emptied database."""
    return neo4j_store


async def rows(driver: AsyncDriver, query: LiteralString, **params: Any) -> list[dict[str, Any]]:
    result = await driver.execute_query(query, params)
    return [record.data() for record in result.records]


async def drop_schema(driver: AsyncDriver) -> None:
    for row in await rows(driver, "SHOW CONSTRAINTS YIELD name"):
        await driver.execute_query("DROP CONSTRAINT $name", name=row["name"])
    for row in await rows(driver, "SHOW INDEXES YIELD name, type WHERE type <> 'LOOKUP'"):
        await driver.execute_query("DROP INDEX $name", name=row["name"])


async def schema(driver: AsyncDriver) -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]:
    constraints = await rows(
        driver, "SHOW CONSTRAINTS YIELD type, labelsOrTypes, properties RETURN *"
    )
    indexes = await rows(
        driver,
        "SHOW INDEXES YIELD type, labelsOrTypes, properties, state WHERE type <> 'LOOKUP' RETURN *",
    )
    return (
        {(c["type"], *c["labelsOrTypes"], tuple(c["properties"])) for c in constraints},
        {(i["type"], *i["labelsOrTypes"], tuple(i["properties"]), i["state"]) for i in indexes},
    )


async def test_setup_creates_the_schema_once_and_again_harmlessly(driver: AsyncDriver) -> None:
    await drop_schema(driver)
    first = Neo4jStore(NEO4J_URL, user=NEO4J_USER, password=NEO4J_PASSWORD)
    second = Neo4jStore(NEO4J_URL, user=NEO4J_USER, password=NEO4J_PASSWORD)

    await first.setup()
    created = await schema(driver)
    await first.setup()
    await second.setup()
    again = await schema(driver)
    await first.close()
    await second.close()

    constraints, indexes = created
    assert {
        ("UNIQUENESS", "Ref", ("key",)),
        ("UNIQUENESS", "Entity", ("ref",)),
        ("UNIQUENESS", "Run", ("id",)),
    } <= constraints
    assert {
        ("RANGE", "Entity", (prop,), "ONLINE")
        for prop in (
            "kind",
            "namespace",
            "name",
            "source",
            "run_id",
            "spec_type",
            "lifecycle",
            "updated_at",
        )
    } <= indexes
    assert ("TEXT", "Entity", ("text_values",), "ONLINE") in indexes  # graph.neo4j.fulltext
    assert (
        "FULLTEXT",
        "Entity",
        ("name", "title", "description", "tags_text"),
        "ONLINE",
    ) in indexes
    assert ("RANGE", "OWNED_BY", ("source", "run_id"), "ONLINE") in indexes
    assert again == created


def test_every_schema_statement_names_what_it_makes_or_drops() -> None:
    """Setup decides by name whether a statement is needed: one it could not name would run
    at every setup."""
    for statement in SCHEMA:
        assert _SCHEMA_NAME.match(statement), statement


async def test_setup_of_a_store_with_its_schema_sends_no_schema_statement(
    driver: AsyncDriver,
) -> None:
    await drop_schema(driver)
    first = Neo4jStore(NEO4J_URL, user=NEO4J_USER, password=NEO4J_PASSWORD)
    await first.setup()
    created = await schema(driver)
    await driver.execute_query("DROP INDEX entity_name")
    second = Neo4jStore(NEO4J_URL, user=NEO4J_USER, password=NEO4J_PASSWORD)
    await second.setup()  # makes again only the index dropped
    third = Neo4jStore(NEO4J_URL, user=NEO4J_USER, password=NEO4J_PASSWORD)
    await third.setup()
    again = await schema(driver)
    for store in (first, second, third):
        await store.close()

    assert again == created
    assert first.query_count > len(SCHEMA)
    # the two SHOW reads, the migrations' probes and the facet counts' marker
    assert third.query_count <= 10
    assert second.query_count == third.query_count + 2  # CREATE INDEX, awaitIndexes


async def test_entity_is_a_ref_with_entity_and_kind_labels(
    store: Neo4jStore, driver: AsyncDriver
) -> None:
    await store.upsert_entities(
        "src", "r1", [record("component:default/Payments", tags=("java", "pci"))]
    )

    (node,) = await rows(
        driver,
        "MATCH (n:Ref {key: $key}) RETURN labels(n) AS labels, n.ref AS ref, n.kind AS kind, "
        "n.tags AS tags, n.tags_text AS tags_text, n.source AS source, n.run_id AS run_id",
        key="component:default/payments",
    )

    assert sorted(node.pop("labels")) == ["Component", "Entity", "Ref"]
    assert node == {
        "ref": "component:default/Payments",
        "kind": "component",
        "tags": ["java", "pci"],
        "tags_text": "java pci",
        "source": "src",
        "run_id": "r1",
    }


async def test_listing_fields_are_properties(store: Neo4jStore, driver: AsyncDriver) -> None:
    annotations = {"github.com/project-slug": "acme/a", "a=b": "c"}
    await store.upsert_entities(
        "src",
        "r1",
        [
            record(
                "component:default/a",
                spec={"type": "service", "lifecycle": 3},
                annotations=annotations,
            )
        ],
    )

    (node,) = await rows(
        driver,
        "MATCH (n:Entity) RETURN n.spec_type AS type, n.lifecycle AS lifecycle, "
        "n.annotation_keys AS keys, n.annotation_pairs AS pairs, n.field_keys AS fields",
    )

    assert node == {
        "type": "service",
        "lifecycle": None,  # not a string: Backstage's lifecycles are
        "keys": None,  # found in the pairs
        # one string each: list properties cost the server twice as much to write
        "pairs": '\x1e["github.com/project-slug","acme/a"]\x1e["a=b","c"]\x1e',
        "fields": node["fields"],
    }
    assert isinstance(node["fields"], str)
    assert "\x1espec.type\x1e" in node["fields"]


async def test_questions_are_one_statement_each_and_impact_one_per_level(
    store: Neo4jStore,
) -> None:
    await store.upsert_entities(
        "src", "r1", [record(f"component:default/{name}", tags=("x",)) for name in "abc"]
    )
    await store.upsert_relations(
        "src",
        "r1",
        [
            rel("component:default/a", "dependsOn", "component:default/b"),
            rel("component:default/b", "dependsOn", "component:default/c"),
            rel("component:default/a", "ownedBy", "group:default/gone"),
        ],
    )
    search = EntityFilter(search="a")
    calls: dict[str, Callable[[], Awaitable[object]]] = {
        "list": lambda: store.list_entities(search, 10, None, Order.RELEVANCE),
        "list_by_name": lambda: store.list_entities(EntityFilter(), 1, None, Order.NAME),
        "count": lambda: store.count_entities(search),
        "facets": lambda: store.facets(FACET_FIELDS, EntityFilter()),
        "expand_groups": lambda: store.expand_groups(["group:default/gone"]),
        "shortest_path": lambda: store.shortest_path(
            "component:default/a", "component:default/c", "dependsOn", 10
        ),
        "same_path": lambda: store.shortest_path(
            "component:default/a", "component:default/a", "dependsOn", 10
        ),
        "dangling": lambda: store.dangling(10),
        "orphans": lambda: store.orphans(10),
        "impact": lambda: store.impact("component:default/c", 10),
        "shallow_impact": lambda: store.impact("component:default/c", 1),
    }

    counts = {}
    for name, call in calls.items():
        before = store.query_count
        assert await call()
        counts[name] = store.query_count - before

    # impact: a, b, then the level that finds nothing more
    assert counts == {name: 1 for name in calls} | {"impact": 3}


async def test_setup_gives_runs_saved_without_a_status_theirs(driver: AsyncDriver) -> None:
    started = datetime(2026, 1, 1, tzinfo=UTC)
    old = RunRecord("run-old", "a", "git", "FAILED", "schedule", started)
    await driver.execute_query(
        "CREATE (:Run {id: $id, source: 'a', started_at: $started, document: $document})",
        id=old.id,
        started=started,
        document=run_to_json(old),
    )
    store = Neo4jStore(NEO4J_URL, user=NEO4J_USER, password=NEO4J_PASSWORD)

    await store.setup()
    try:
        failed = await store.get_runs("a", 10, status="FAILED")
    finally:
        await store.close()

    assert [r.id for r in failed] == ["run-old"]


async def test_lease_goes_to_one_of_many_concurrent_claimants(driver: AsyncDriver) -> None:
    claimants = [Neo4jStore(NEO4J_URL, user=NEO4J_USER, password=NEO4J_PASSWORD) for _ in range(6)]
    for claimant in claimants:
        await claimant.setup()
    now = datetime(2026, 1, 1, tzinfo=UTC)
    later = now + timedelta(minutes=5)

    try:
        fresh = await asyncio.gather(
            *(
                c.acquire_lease("source:a", f"w{i}", now, now + timedelta(minutes=1))
                for i, c in enumerate(claimants)
            )
        )
        expired = await asyncio.gather(
            *(
                c.acquire_lease("source:a", f"v{i}", later, later + timedelta(minutes=1))
                for i, c in enumerate(claimants)
            )
        )
    finally:
        for claimant in claimants:
            await claimant.close()

    assert (fresh.count(True), expired.count(True)) == (1, 1)


async def test_owned_by_relation_is_an_owned_by_relationship(
    store: Neo4jStore, driver: AsyncDriver
) -> None:
    await store.upsert_entities(
        "src", "r1", [record("component:default/a"), record("group:default/team")]
    )

    await store.upsert_relations(
        "src", "r1", [rel("component:default/a", "ownedBy", "group:default/team")]
    )

    found = await rows(
        driver,
        "MATCH (a:Entity)-[r]->(b:Entity) "
        "RETURN a.key AS a, type(r) AS type, b.key AS b, r.source AS source, r.run_id AS run",
    )
    assert found == [
        {
            "a": "component:default/a",
            "type": "OWNED_BY",
            "b": "group:default/team",
            "source": "src",
            "run": "r1",
        }
    ]


async def test_every_relation_type_has_its_relationship_type(store: Neo4jStore) -> None:
    await store.upsert_relations(
        "src", "r1", [rel("component:default/a", name, "component:default/b") for name in REL_TYPES]
    )

    found = await store.get_relations(["component:default/a"], Direction.OUT)

    assert sorted(r.type for r in found) == sorted(REL_TYPES)
    assert set(REL_TYPES.values()) == {
        "OWNED_BY",
        "DEPENDS_ON",
        "PROVIDES_API",
        "CONSUMES_API",
        "PART_OF",
        "MEMBER_OF",
        "CHILD_OF",
        "SCAFFOLDED_FROM",
        "BUILT_BY",
        "RUN_OF",
        "DEPLOYS",
        "DEPLOYED_TO",
    }


async def test_unknown_relation_type_is_rejected(store: Neo4jStore) -> None:
    with pytest.raises(StoreError, match="unknown relation type 'likes'"):
        await store.upsert_relations(
            "src", "r1", [rel("component:default/a", "likes", "component:default/b")]
        )


async def test_placeholder_becomes_the_entity_and_reverts_when_it_goes(
    store: Neo4jStore, driver: AsyncDriver
) -> None:
    node_query: LiteralString = (
        "MATCH (n:Ref {key: 'component:default/b'}) "
        "RETURN labels(n) AS labels, keys(n) AS props ORDER BY n.key"
    )
    await store.upsert_entities("mine", "r1", [record("component:default/a")])
    await store.upsert_relations(
        "mine", "r1", [rel("component:default/a", "dependsOn", "component:default/B")]
    )
    placeholder = await rows(driver, node_query)

    await store.upsert_entities("theirs", "x1", [record("component:default/b")])
    arrived = await rows(driver, node_query)

    await store.delete_entities("theirs", ["component:default/b"])
    reverted = await rows(driver, node_query)

    await store.delete_entities("mine", ["component:default/a"])
    pruned = await rows(driver, "MATCH (n:Ref) RETURN n.key AS key")

    assert [(n["labels"], sorted(n["props"])) for n in placeholder] == [(["Ref"], ["key", "ref"])]
    assert [sorted(n["labels"]) for n in arrived] == [["Component", "Entity", "Ref"]]
    assert [(n["labels"], sorted(n["props"])) for n in reverted] == [(["Ref"], ["key", "ref"])]
    assert pruned == []


async def test_cleanup_deletes_stale_relationships_and_bare_placeholders(
    store: Neo4jStore, driver: AsyncDriver
) -> None:
    await store.upsert_entities("src", "r1", [record("component:default/a")])
    await store.upsert_relations(
        "src", "r1", [rel("component:default/a", "dependsOn", "resource:default/ghost")]
    )
    await store.upsert_entities("src", "r2", [record("component:default/a")])

    deleted = await store.delete_stale("src", "r2")

    assert deleted == {}
    remaining = await rows(driver, "MATCH (n:Ref) RETURN n.key AS key, labels(n) AS labels")
    assert [(n["key"], sorted(n["labels"])) for n in remaining] == [
        ("component:default/a", ["Component", "Entity", "Ref"])
    ]


async def test_batch_of_5000_is_written_in_a_constant_number_of_statements(
    store: Neo4jStore, driver: AsyncDriver
) -> None:
    records = [record(f"component:default/c{i:04d}") for i in range(5000)]
    relations = [
        rel(f"component:default/c{i:04d}", "dependsOn", f"component:default/c{(i + 1) % 5000:04d}")
        for i in range(5000)
    ]
    batches = math.ceil(5000 / BATCH_SIZE)

    before = store.query_count
    await store.upsert_entities("src", "r1", records)
    entity_statements = store.query_count - before
    before = store.query_count
    await store.upsert_relations("src", "r1", relations)
    relation_statements = store.query_count - before

    # each entity batch: its upsert, the facet counts read before and after, the deltas
    assert (entity_statements, relation_statements) == (4 * batches, batches)
    assert batches <= 3
    (counts,) = await rows(
        driver,
        "MATCH (n:Entity) WITH count(n) AS nodes "
        "MATCH ()-[r:DEPENDS_ON]->() RETURN nodes, count(r) AS relationships",
    )
    assert counts == {"nodes": 5000, "relationships": 5000}


async def test_credentials_come_from_the_url_when_not_given(driver: AsyncDriver) -> None:
    parts = urlsplit(NEO4J_URL)
    url = urlunsplit(parts._replace(netloc=f"{NEO4J_USER}:{NEO4J_PASSWORD}@{parts.netloc}"))
    store = Neo4jStore(url, user=None, password=None)

    await store.setup()
    try:
        assert await store.ping()
    finally:
        await store.close()


async def test_wrong_credentials_say_what_to_check(driver: AsyncDriver) -> None:
    # another user than the tests' own, so the server's failed-login lockout never hits them
    store = Neo4jStore(NEO4J_URL, user="stagegraph-nobody", password="wrong")

    with pytest.raises(StoreConnectionError) as caught:
        await store.setup()

    message = str(caught.value)
    assert "NEO4J_USER / NEO4J_PASSWORD" in message
    assert urlsplit(NEO4J_URL).netloc in message
    assert "wrong" not in message
    assert not await store.ping()


async def test_unreachable_server_says_where_and_what_to_do() -> None:
    store = Neo4jStore("bolt://user:secret@127.0.0.1:9", user=None, password=None)

    with pytest.raises(StoreConnectionError) as caught:
        await store.setup()

    message = str(caught.value)
    assert "bolt://127.0.0.1:9" in message
    assert "make neo4j" in message
    assert "secret" not in message


async def test_store_refuses_work_before_setup() -> None:
    store = Neo4jStore(NEO4J_URL, user=NEO4J_USER, password=NEO4J_PASSWORD)

    with pytest.raises(StoreError, match="call setup"):
        await store.get_entities(["component:default/a"])
    assert not await store.ping()


async def test_setup_gives_entities_written_without_fields_theirs(
    store: Neo4jStore, driver: AsyncDriver
) -> None:
    await store.upsert_entities(
        "src", "r", [record("component:default/old", spec={"type": "service"})]
    )
    await driver.execute_query(
        "MATCH (e:Entity) REMOVE e.field_keys, e.field_lpairs, e.field_pairs"
    )
    services = EntityFilter(any_of=((FieldCondition("spec.type", ("service",)),),))
    before = await store.count_entities(services)
    again = Neo4jStore(NEO4J_URL, user=NEO4J_USER, password=NEO4J_PASSWORD)

    await again.setup()
    try:
        after = await again.count_entities(services)
    finally:
        await again.close()

    assert (before, after) == (0, 1)


async def test_setup_joins_the_list_properties_of_entities_written_before(
    store: Neo4jStore, driver: AsyncDriver
) -> None:
    """A store written while searchable fields and annotations were list properties still
    answers every filter and facet once opened: setup rewrites them as joined strings."""
    annotations = {"stagegraph.dev/source-path": "repo/a.yaml", "x": "y"}
    await store.upsert_entities(
        "src",
        "r",
        [
            record("component:default/a", spec={"type": "service"}, annotations=annotations),
            record("component:default/b", spec={"type": "library", "owner": "t"}),
        ],
    )
    await driver.execute_query(
        "MATCH (e:Entity) WITH e, split(e.field_keys, $sep) AS keys, "
        "split(e.field_lpairs, $sep) AS lpairs, split(e.field_pairs, $sep) AS pairs, "
        "split(e.annotation_pairs, $sep) AS annotations "
        "SET e.field_keys = keys[1..-1], e.field_lpairs = lpairs[1..-1], "
        "e.field_pairs = pairs[1..-1], e.annotation_pairs = annotations[1..-1], "
        "e.annotation_keys = [p IN annotations[1..-1] | substring(p, 2, size(p) - 4)]",
        sep="\x1e",
    )
    (old,) = await rows(driver, "MATCH (e:Entity {name: 'a'}) RETURN e.field_keys AS keys")
    assert isinstance(old["keys"], list) and "spec.type" in old["keys"]
    again = Neo4jStore(NEO4J_URL, user=NEO4J_USER, password=NEO4J_PASSWORD)

    await again.setup()
    try:
        services = await again.count_entities(
            EntityFilter(any_of=((FieldCondition("spec.type", ("service",)),),))
        )
        annotated = await again.count_entities(EntityFilter(annotation=("x", "y")))
        facets = await again.field_facets(["spec.type"], EntityFilter(kinds=("component",)))
        owned = await again.field_facets(["spec.owner"], EntityFilter(tag="missing"))
    finally:
        await again.close()

    assert (services, annotated) == (1, 1)
    assert facets == {"spec.type": [("library", 1), ("service", 1)]}
    assert owned == {"spec.owner": []}
    left = await rows(
        driver,
        "MATCH (e:Entity) RETURN e.field_keys IS :: STRING AS joined, "
        "e.annotation_keys AS keys ORDER BY e.name",
    )
    assert left == [{"joined": True, "keys": None}, {"joined": True, "keys": None}]


async def test_changes_keep_their_fields_as_one_string_and_read_older_lists(
    store: Neo4jStore, driver: AsyncDriver
) -> None:
    at = datetime(2026, 12, 5, tzinfo=UTC)
    await store.record_changes(
        [
            EntityChange(
                id="new",
                at=at,
                source="git",
                run_id="r1",
                ref="component:default/a",
                kind="Component",
                change=ChangeType.CREATED,
                fields=("metadata.name", "spec.owner"),
                before=None,
                after={"spec": {"owner": "b"}},
            )
        ]
    )
    await driver.execute_query(
        "CREATE (:EntityChange {id: 'old', seq: 0, at: $at, source: 'git', run_id: 'r0', "
        "ref: 'component:default/a', kind: 'Component', change: 'UPDATED', "
        "fields: ['spec.owner']})",
        at=(at - timedelta(days=1)).isoformat(),
    )

    changes = (await store.latest_changes(["component:default/a"], 10))["component:default/a"]
    stored = await rows(driver, "MATCH (c:EntityChange {id: 'new'}) RETURN c.fields AS fields")

    assert [(c.id, c.fields) for c in changes] == [
        ("new", ("metadata.name", "spec.owner")),
        ("old", ("spec.owner",)),
    ]
    assert stored == [{"fields": '["metadata.name","spec.owner"]'}]


async def test_a_first_ingest_writes_entities_in_smaller_concurrent_batches(
    store: Neo4jStore, driver: AsyncDriver
) -> None:
    """Into a store with no entity, a bulk load writes entities BULK_BATCH_SIZE rows a
    transaction, BULK_WRITERS at once; into one with entities, BATCH_SIZE rows, one at a time."""
    records = [record(f"component:default/c{i:04d}") for i in range(2500)]

    before = store.query_count
    async with store.bulk_load(len(records)):
        await store.upsert_entities("src", "r1", records)
    first = store.query_count - before
    before = store.query_count
    async with store.bulk_load(len(records)):
        await store.upsert_entities("src", "r2", records)
    again = store.query_count - before

    # one read (does the store hold entities?) and the batches, each with the facet counts
    # read before and after it and their change applied (none the second time)
    assert (first, again) == (
        1 + 4 * math.ceil(2500 / BULK_BATCH_SIZE),
        1 + 3 * math.ceil(2500 / BATCH_SIZE),
    )
    assert BULK_BATCH_SIZE < BATCH_SIZE and BULK_WRITERS == 2
    (counts,) = await rows(
        driver,
        "MATCH (n:Entity:Component) RETURN count(n) AS n, collect(DISTINCT n.run_id) AS runs",
    )
    assert counts == {"n": 2500, "runs": ["r2"]}


async def test_source_files_keep_keys_as_json_text_and_read_older_lists(
    store: Neo4jStore, driver: AsyncDriver
) -> None:
    await store.update_source_files(
        "git", [SourceFile("a.yaml", "b1", "d1", ("component:default/a",), ("b.yaml",))], []
    )
    await driver.execute_query(
        "CREATE (:SourceFile {id: 'git\\nold.yaml', source: 'git', path: 'old.yaml', "
        "blob: 'b0', deps: 'd0', keys: ['component:default/old'], follows: []})"
    )

    files = await store.source_files("git")
    stored = await rows(
        driver, "MATCH (f:SourceFile {path: 'a.yaml'}) RETURN f.keys AS keys, f.follows AS follows"
    )

    assert files == {
        "a.yaml": SourceFile("a.yaml", "b1", "d1", ("component:default/a",), ("b.yaml",)),
        "old.yaml": SourceFile("old.yaml", "b0", "d0", ("component:default/old",), ()),
    }
    assert stored == [{"keys": '["component:default/a"]', "follows": '["b.yaml"]'}]
