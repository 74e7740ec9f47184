"""Search for search-as-you-type: exact name or ref first, then prefix matches of name or
title (catalog kinds in ``graph.search.KIND_ORDER``), then full-text rank; builds and
deployments after the catalog's kinds unless the filter asks for them. Both stores."""

from __future__ import annotations

from graph.port import EntityFilter, GraphStore, Order
from graph.search import relevance, search_rank
from tests.factories import record
from tests.schema.conftest import Client

SEARCH = """query ($search: String!, $first: Int, $after: String) {
  entities(search: $search, first: $first, after: $after) {
    totalCount edges { node { ref } } pageInfo { hasNextPage endCursor }
  }
}"""


async def _catalog(store: GraphStore) -> None:
    """A tracker and its namesakes, outnumbered by CI events that repeat its name."""
    records = [
        record("component:default/shipment-tracker", title="Shipment Tracker"),
        record("api:default/shipment-events-api", title="Shipment events"),
        record("system:default/shipment-tracking", title="Shipment Tracking"),
        record("domain:default/shipping", title="Shipping"),
        record("group:default/shipping-team", title="Shipping Team"),
        record("component:default/eta-predictor", description="Predicts shipment arrival"),
        record("pipeline:default/northwind-shipment-tracker-ci", title="CI"),
    ]
    for n in range(4):
        records.append(record(f"build:default/northwind-shipment-tracker-ci-{n}", title=f"CI #{n}"))
        records.append(
            record(
                f"deployment:default/northwind-shipment-tracker-staging-{n}",
                title="shipment-tracker to staging",
            )
        )
    await store.upsert_entities("test", "r1", records)


async def _refs(client: Client, search: str, **variables: object) -> list[str]:
    data = await client.query(SEARCH, search=search, first=100, **variables)
    return [edge["node"]["ref"] for edge in data["entities"]["edges"]]


async def test_the_component_comes_first_as_its_name_is_typed(client: Client) -> None:
    await _catalog(client.store)

    for typed in ("shipment-tracker", "Shipment-Tracker", "shipm", "ship"):
        found = await _refs(client, typed)

        assert found[0] == "component:default/shipment-tracker", typed
        kinds = [ref.split(":")[0] for ref in found]
        events = [i for i, kind in enumerate(kinds) if kind in ("build", "deployment")]
        others = [i for i, kind in enumerate(kinds) if kind not in ("build", "deployment")]
        assert len(events) == 8 and min(events) > max(others), typed


async def test_prefix_matches_go_by_kind_then_the_rest_by_rank(client: Client) -> None:
    await _catalog(client.store)

    found = await _refs(client, "ship")

    assert found[:6] == [
        "component:default/shipment-tracker",
        "api:default/shipment-events-api",
        "system:default/shipment-tracking",
        "domain:default/shipping",
        "group:default/shipping-team",
        "pipeline:default/northwind-shipment-tracker-ci",
    ]
    assert found[6] == "component:default/eta-predictor"  # a match of its description only


async def test_an_exact_name_title_or_ref_comes_first(client: Client) -> None:
    await _catalog(client.store)

    assert (await _refs(client, "shipping"))[0] == "domain:default/shipping"
    assert (await _refs(client, "Shipment Tracking"))[0] == "system:default/shipment-tracking"
    assert (await _refs(client, "northwind-shipment-tracker-ci-2"))[0] == (
        "build:default/northwind-shipment-tracker-ci-2"
    )
    assert await _refs(client, "component:shipment-tracker") == [
        "component:default/shipment-tracker"
    ]
    assert (await _refs(client, "api:default/shipment-events-api"))[0] == (
        "api:default/shipment-events-api"
    )


async def test_events_rank_as_catalog_kinds_when_the_filter_asks_for_them(
    store: GraphStore,
) -> None:
    await _catalog(store)

    flt = EntityFilter(search="shipment-tracker", kinds=("pipeline", "deployment"))
    page = await store.list_entities(flt, 100, None, Order.RELEVANCE)
    found = [entity.ref for entity in page.entities]

    # the deployments' titles start with the text; the pipeline's name only contains it
    assert [ref.split(":")[0] for ref in found] == ["deployment"] * 4 + ["pipeline"]


async def test_cursors_walk_the_ranked_list(client: Client) -> None:
    await _catalog(client.store)
    whole = await _refs(client, "ship")

    walked: list[str] = []
    after = None
    while True:
        data = await client.query(SEARCH, search="ship", first=3, after=after)
        walked += [edge["node"]["ref"] for edge in data["entities"]["edges"]]
        if not data["entities"]["pageInfo"]["hasNextPage"]:
            break
        after = data["entities"]["pageInfo"]["endCursor"]

    assert walked == whole
    assert len(whole) == data["entities"]["totalCount"]


def test_relevance_keeps_tiers_apart() -> None:
    best_text_match_of_tier_2 = relevance(2, "component", 1e9)
    worst_prefix_match = relevance(1, "cloudaccount", 0.0)
    assert worst_prefix_match < best_text_match_of_tier_2
    assert relevance(1, "component", 0.0) < relevance(1, "api", 50.0)
    assert search_rank(" Component:Shipment-Tracker ", ["Build"]) == (
        search_rank("component:default/shipment-tracker", ["build"]).__class__(
            text="component:shipment-tracker",
            keys=("component:default/shipment-tracker",),
            demoted=("deployment",),
        )
    )
