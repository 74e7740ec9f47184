"""The store contract of ``entity_page``: a listing page with the other ends of relations
attached, on both stores, against what ``list_entities`` and ``get_relations`` say."""

from __future__ import annotations

from dataclasses import replace

from graph.port import EntityFilter, GraphStore, Order, RelatedPlan, StoredEntity
from graph.tracing import counting
from tests.factories import record, rel


async def _catalog(store: GraphStore) -> None:
    await store.upsert_entities(
        "src",
        "r",
        [
            *(record(f"component:default/c{i}") for i in range(4)),
            record("api:default/pay-api", title="Pay"),
            record("api:default/Auth-API"),
            record("group:default/team"),
            record("system:default/shop"),
        ],
    )
    await store.upsert_relations(
        "src",
        "r",
        [
            rel("component:default/c0", "ownedBy", "group:default/team"),
            rel("component:default/c0", "dependsOn", "component:default/c1"),
            rel("component:default/c0", "dependsOn", "resource:default/ghost"),
            rel("component:default/c0", "dependsOn", "api:default/pay-api"),
            rel("component:default/c0", "providesApi", "api:default/pay-api"),
            rel("component:default/c0", "providesApi", "api:default/auth-api"),
            rel("component:default/c1", "dependsOn", "component:default/c1"),  # itself
            rel("component:default/c2", "ownedBy", "group:default/nobody"),
            rel("component:default/c2", "partOf", "system:default/shop"),
        ],
    )


def _refs(found: list[list[list[StoredEntity | None]]]) -> list[list[list[str | None]]]:
    return [[[e.ref if e else None for e in plan] for plan in entity] for entity in found]


async def test_page_attaches_each_plan_in_key_order_with_dangling_ends(store: GraphStore) -> None:
    await _catalog(store)
    plans = [
        RelatedPlan("ownedBy"),
        RelatedPlan("dependsOn", light=True),
        RelatedPlan("dependencyOf"),
        RelatedPlan("providesApi", "api", light=True),
        RelatedPlan("dependsOn", "component"),
    ]

    with counting() as statements:
        page = await store.entity_page(EntityFilter(kinds=("component",)), 3, plans)

    assert statements[0] == 1
    assert [e.name for e in page.entities] == ["c0", "c1", "c2"]
    assert page.has_next
    assert _refs(page.related) == [
        [
            ["group:default/team"],
            ["api:default/pay-api", "component:default/c1", None],
            [],
            ["api:default/Auth-API", "api:default/pay-api"],
            ["component:default/c1"],
        ],
        [
            [],
            ["component:default/c1"],
            ["component:default/c0", "component:default/c1"],
            [],
            ["component:default/c1"],
        ],
        [[None], [], [], [], []],
    ]
    full = page.related[0][0][0]
    assert full is not None and full.source == "src" and full.document["kind"] == "Group"
    light = page.related[0][1][0]
    assert light is not None and (light.kind, light.name, light.document) == ("api", "pay-api", {})


async def test_page_without_plans_is_the_listing_in_every_order(store: GraphStore) -> None:
    await _catalog(store)
    everything = EntityFilter()
    for order in (Order.KEY, Order.NAME, Order.KIND, Order.UPDATED_AT):
        for backward in (False, True):
            listed = await store.list_entities(everything, 3, None, order, backward)
            paged = await store.entity_page(
                everything, 3, [RelatedPlan("ownedBy")], None, order, backward
            )
            after = await store.list_entities(everything, 3, listed.cursors[-1], order, backward)
            paged_after = await store.entity_page(
                everything, 3, (), paged.cursors[-1], order, backward
            )

            assert [e.ref for e in paged.entities] == [e.ref for e in listed.entities]
            assert paged.cursors == listed.cursors
            assert paged.has_next == listed.has_next
            assert [e.ref for e in paged_after.entities] == [e.ref for e in after.entities]
            assert len(paged.related) == 3 and all(len(r) == 1 for r in paged.related)


async def test_page_of_a_filter_that_matches_nothing(store: GraphStore) -> None:
    await _catalog(store)

    page = await store.entity_page(EntityFilter(kinds=("template",)), 10, [RelatedPlan("ownedBy")])

    assert (page.entities, page.related, page.has_next) == ([], [], False)


def _summary_of(entity: StoredEntity) -> StoredEntity:
    """What a summary of ``entity`` holds: all of it, but only the kind of its document."""
    document = {"kind": entity.document["kind"]} if "kind" in entity.document else {}
    return replace(entity, document=document)


async def test_a_summary_is_the_entity_with_only_the_kind_of_its_document(
    store: GraphStore,
) -> None:
    await _catalog(store)
    odd = record("component:default/c9-odd", title="Odd")  # no kind in the document
    del odd.document["kind"]
    await store.upsert_entities("src", "r", [odd, record("api:default/Other-API")])
    owned = [rel("api:default/Other-API", "ownedBy", "group:default/team")]
    await store.upsert_relations("src", "r", owned)
    plans = [RelatedPlan("ownedBy"), RelatedPlan("providesApi", "api", light=True)]
    every = EntityFilter()

    with counting() as statements:
        summaries = await store.entity_page(every, 20, plans, summary=True)
        owned_summaries = await store.owned_entities(["group:default/team"], True, summary=True)
    whole = await store.entity_page(every, 20, plans)
    owned_whole = await store.owned_entities(["group:default/team"], True)

    assert statements[0] == 2
    assert summaries.entities == [_summary_of(e) for e in whole.entities]
    assert (summaries.cursors, summaries.related) == (whole.cursors, whole.related)
    assert owned_summaries == [_summary_of(e) for e in owned_whole]
    kinds = {e.name: e.document.get("kind") for e in summaries.entities}
    assert (kinds["Other-API"], kinds["c0"], kinds["c9-odd"]) == ("Api", "Component", None)
    assert [e.name for e in owned_summaries] == ["Other-API", "c0"]
