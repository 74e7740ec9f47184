"""The store contract for Backstage's field reads (offset pages in any field order, facets
over any dot path, the full-text filter): every test runs on SQLite and on Neo4j."""

from __future__ import annotations

import random
from typing import Any

from graph.port import (
    EntityFilter,
    EntityRecord,
    FieldCondition,
    FieldOrder,
    GraphStore,
    TextFilter,
)
from tests.factories import record, rel


async def _catalog(store: GraphStore) -> None:
    await store.upsert_entities(
        "src",
        "r",
        [
            record("component:default/alpha", spec={"type": "service"}, tags=("java", "go")),
            record("component:default/bravo", spec={"type": "Website"}, tags=("java",)),
            record("component:default/charlie", spec={"type": "service"}),
            record("component:default/delta", title="Shipment Tracker"),
            record("group:default/team"),
        ],
    )
    await store.upsert_relations(
        "src",
        "r",
        [
            rel("component:default/alpha", "ownedBy", "group:default/team"),
            rel("component:default/bravo", "ownedBy", "group:default/team"),
            rel("component:default/charlie", "ownedBy", "group:default/other"),
        ],
    )


async def test_select_orders_by_any_path_missing_values_last_with_offsets(
    store: GraphStore,
) -> None:
    await _catalog(store)
    components = EntityFilter(any_of=((FieldCondition("kind", ("component",)),),))

    by_type = await store.select_entities(components, [FieldOrder("spec.type")], 0, 10)
    by_type_desc = await store.select_entities(
        components, [FieldOrder("spec.type", descending=True)], 0, 10
    )
    second_page = await store.select_entities(components, [FieldOrder("metadata.name")], 2, 2)
    by_name_desc = await store.select_entities(
        EntityFilter(), [FieldOrder("metadata.name", descending=True)], 0, 2
    )

    assert [e.name for e in by_type] == ["alpha", "charlie", "bravo", "delta"]
    assert [e.name for e in by_type_desc] == ["bravo", "alpha", "charlie", "delta"]
    assert [e.name for e in second_page] == ["charlie", "delta"]
    assert [e.name for e in by_name_desc] == ["team", "delta"]


async def test_field_facets_count_entities_per_value_on_any_path(store: GraphStore) -> None:
    await _catalog(store)

    facets = await store.field_facets(
        ["spec.type", "metadata.tags", "relations.ownedBy", "relations.ownerOf", "relations.x"],
        EntityFilter(),
    )
    services = await store.field_facets(
        ["kind", "relations.ownedby"],
        EntityFilter(any_of=((FieldCondition("spec.type", ("service",)),),)),
    )

    assert facets == {
        "spec.type": [("service", 2), ("Website", 1)],
        "metadata.tags": [("java", 2), ("go", 1)],
        "relations.ownedBy": [("group:default/team", 2), ("group:default/other", 1)],
        "relations.ownerOf": [("component:default/alpha", 1), ("component:default/bravo", 1)],
        "relations.x": [],
    }
    assert services == {
        "kind": [("Component", 2)],
        "relations.ownedby": [("group:default/other", 1), ("group:default/team", 1)],
    }


async def test_facets_of_kinds_follow_every_write(store: GraphStore) -> None:
    """Facets over every entity or of some kinds (which a store may read from counts it
    keeps) give what counting the entities gives, after updates and deletes too."""
    await _catalog(store)
    components = EntityFilter(any_of=((FieldCondition("Kind", ("COMPONENT",)),),))
    either = EntityFilter(
        any_of=((FieldCondition("kind", ("group",)),), (FieldCondition("kind", ("component",)),))
    )
    narrower = EntityFilter(
        any_of=((FieldCondition("kind", ("component",)), FieldCondition("metadata.tags")),)
    )
    paths = ["kind", "spec.type", "metadata.tags", "relations.ownedBy"]

    before = await store.field_facets(paths, components)
    await store.upsert_entities(
        "src", "r2", [record("component:default/alpha", spec={"type": "library"})]
    )
    await store.delete_entities("src", ["component:default/charlie"])
    after = await store.field_facets(["kind", "spec.type"], EntityFilter())
    of_either = await store.field_facets(["kind"], either)
    of_tagged = await store.field_facets(["spec.type"], narrower)
    summary = await store.facets(["kind", "spec.type"], EntityFilter(kinds=("component",)))

    assert before == {
        "kind": [("Component", 4)],
        "spec.type": [("service", 2), ("Website", 1)],
        "metadata.tags": [("java", 2), ("go", 1)],
        "relations.ownedBy": [("group:default/team", 2), ("group:default/other", 1)],
    }
    assert after == {
        "kind": [("Component", 3), ("Group", 1)],
        "spec.type": [("Website", 1), ("library", 1)],
    }
    assert of_either == {"kind": [("Component", 3), ("Group", 1)]}
    assert of_tagged == {"spec.type": [("Website", 1)]}
    assert summary == {"kind": [("component", 3)], "spec.type": [("Website", 1), ("library", 1)]}


async def test_facets_of_few_valued_paths_count_several_values_and_every_kind(
    store: GraphStore,
) -> None:
    """kind, namespace, spec.type, spec.lifecycle and spec.owner (which a store may read
    from an index of each entity's one value) count an entity with several values at a
    path once per value, under no filter, a kind filter, and another filter alike."""
    await store.upsert_entities(
        "src",
        "r",
        [
            record(
                "component:default/alpha",
                spec={"type": ["service", "Library"], "owner": "team", "lifecycle": "production"},
            ),
            record("component:prod/bravo", spec={"type": "service", "owner": "team"}),
            record("api:default/charlie", spec={"type": "openapi", "lifecycle": 3}),
            record("system:default/delta", spec={"owner": ["team", "other"]}),
        ],
    )
    paths = ["kind", "metadata.namespace", "spec.type", "spec.lifecycle", "spec.owner"]
    components = EntityFilter(any_of=((FieldCondition("kind", ("component",)),),))
    named = EntityFilter(any_of=((FieldCondition("metadata.name", ("alpha", "delta")),),))

    every = await store.field_facets(paths, EntityFilter())
    of_components = await store.field_facets(["spec.type", "metadata.namespace"], components)
    of_named = await store.field_facets(["spec.type", "spec.owner"], named)

    assert every == {
        "kind": [("Component", 2), ("Api", 1), ("System", 1)],
        "metadata.namespace": [("default", 3), ("prod", 1)],
        "spec.type": [("service", 2), ("Library", 1), ("openapi", 1)],
        "spec.lifecycle": [("3", 1), ("production", 1)],
        "spec.owner": [("team", 3), ("other", 1)],
    }
    assert of_components == {
        "spec.type": [("service", 2), ("Library", 1)],
        "metadata.namespace": [("default", 1), ("prod", 1)],
    }
    assert of_named == {
        "spec.type": [("Library", 1), ("service", 1)],
        "spec.owner": [("team", 2), ("other", 1)],
    }


async def test_text_filter_finds_substrings_in_the_given_paths(store: GraphStore) -> None:
    await _catalog(store)

    async def names(term: str, *paths: str) -> list[str]:
        flt = EntityFilter(text=TextFilter(term, paths))
        return [e.name for e in await store.select_entities(flt, [], 0, 10)]

    assert await names("ARL", "metadata.name") == ["charlie"]
    assert await names("tracker", "metadata.name") == []
    assert await names("tracker", "metadata.name", "metadata.title") == ["delta"]
    assert await names("%", "metadata.name") == []
    assert await names("ta\nship", "metadata.name", "metadata.title") == []  # across values


async def test_query_entities_is_the_page_its_relations_and_the_count(store: GraphStore) -> None:
    await _catalog(store)
    components = EntityFilter(any_of=((FieldCondition("kind", ("component",)),),))
    order = [FieldOrder("metadata.name", descending=True)]

    page, read, total = await store.query_entities(components, order, 1, 2, True)
    bare, unread, same = await store.query_entities(components, order, 1, 2, False)
    searched = await store.query_entities(
        EntityFilter(any_of=components.any_of, text=TextFilter("TRACK", ("metadata.title",))),
        order,
        0,
        5,
        False,
    )

    expected, relations = await store.select_entities_with_relations(components, order, 1, 2)
    assert [e.name for e in page] == ["charlie", "bravo"]
    assert (page, read) == (expected, relations)
    assert {r.target_ref for r in relations} == {"group:default/other", "group:default/team"}
    assert (bare, unread) == (expected, None)
    assert total == same == 4
    assert ([e.name for e in searched[0]], searched[2]) == (["delta"], 1)


async def test_fields_follow_an_update_and_a_delete(store: GraphStore) -> None:
    await _catalog(store)
    services = EntityFilter(any_of=((FieldCondition("spec.type", ("service",)),),))
    await store.upsert_entities(
        "src", "r2", [record("component:default/alpha", spec={"type": "library"})]
    )
    await store.delete_entities("src", ["component:default/charlie"])

    assert await store.count_entities(services) == 0
    libraries = EntityFilter(any_of=((FieldCondition("spec.type", ("library",)),),))
    assert [e.name for e in await store.select_entities(libraries, [], 0, 5)] == ["alpha"]


#: the paths a store may count (kind filter or none) and what makes it count them instead:
#: a condition every entity meets, which no count answers
_COUNTED = ["kind", "metadata.namespace", "spec.type", "spec.lifecycle", "spec.owner"]
_NAMED = FieldCondition("metadata.name")


def _random_record(rng: random.Random, name: str) -> EntityRecord:
    """Entity ``e<i>`` (a component, API or system by ``i``) with random few-valued fields:
    none, one, several, a number, values differing only in case."""
    i = int(name[1:])
    kind = ["component", "api", "system"][i % 3]
    namespace = "prod" if i % 4 == 0 else "default"
    choices: list[Any] = [None, "service", "Service", "library", ["service", "website"], 3]
    spec = {
        key: value
        for key in ("type", "lifecycle", "owner")
        if (value := rng.choice(choices)) is not None
    }
    return record(f"{kind}:{namespace}/{name}", spec=spec)


async def test_counted_facets_equal_the_scanned_ones_after_any_sequence_of_writes(
    store: GraphStore,
) -> None:
    """Seeded random ingests, updates, deletes, cleanups and mutations: after each, the
    facets a store may read from its counts (no filter, a kind filter) equal those it
    counts over the entities (under a filter every entity meets)."""
    rng = random.Random(14)
    names = [f"e{i}" for i in range(24)]
    held: dict[str, EntityRecord] = {}
    done = set()
    for step in range(14):
        run = f"r{step}"
        operation = rng.choice(["upsert", "upsert", "delete", "stale", "mutate"])
        done.add(operation)
        if operation == "upsert":
            batch = [_random_record(rng, n) for n in rng.sample(names, 10)]
            await store.upsert_entities("src", run, batch)
            held.update({r.name: r for r in batch})
        elif operation == "delete" and held:
            gone = rng.sample(sorted(held), min(4, len(held)))
            await store.delete_entities("src", [held.pop(n).key for n in gone])
        elif operation == "stale":
            kept = [_random_record(rng, n) for n in rng.sample(names, 12)]
            await store.upsert_entities("src", run, kept)
            await store.delete_stale("src", run)
            held = {r.name: r for r in kept}
        elif operation == "mutate" and held:
            gone = rng.sample(sorted(held), min(2, len(held)))
            changed = [_random_record(rng, n) for n in rng.sample(names, 3) if n not in gone]
            await store.mutate("src", run, changed, [], [], [held[n].key for n in gone])
            for n in gone:
                held.pop(n)
            held.update({r.name: r for r in changed})
        counted = await store.field_facets(_COUNTED, EntityFilter())
        scanned = await store.field_facets(_COUNTED, EntityFilter(any_of=((_NAMED,),)))
        kind = FieldCondition("kind", ("component",))
        counted_of_kind = await store.field_facets(_COUNTED, EntityFilter(any_of=((kind,),)))
        scanned_of_kind = await store.field_facets(_COUNTED, EntityFilter(any_of=((kind, _NAMED),)))

        summary = await store.facets(["kind", "spec.type", "spec.lifecycle"], EntityFilter())

        assert counted == scanned, (step, operation)
        assert counted_of_kind == scanned_of_kind, (step, operation)
        assert summary == {
            "kind": [(kind.lower(), n) for kind, n in counted["kind"]],
            "spec.type": counted["spec.type"],
            "spec.lifecycle": counted["spec.lifecycle"],
        }
        assert sum(n for _, n in counted["kind"]) == len({r.key for r in held.values()})
    assert done == {"upsert", "delete", "stale", "mutate"}
