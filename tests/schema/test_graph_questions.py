"""Impact, paths, facets, data quality, node and the richer listing, on real catalogs."""

from __future__ import annotations

from tests.schema.conftest import Client

IMPACT = """query ($ref: String!, $depth: Int) {
  impact(ref: $ref, maxDepth: $depth) {
    root { ref }
    affected { entity { ref } distance via }
    owners { ref }
  } }"""


async def test_impact_of_a_hub_lists_dependents_consumers_and_owners(demo: Client) -> None:
    data = await demo.query(IMPACT, ref="component:identity-service", depth=10)

    impact = data["impact"]
    affected = {a["entity"]["ref"]: (a["distance"], a["via"]) for a in impact["affected"]}
    assert impact["root"] == {"ref": "component:default/identity-service"}
    assert affected["component:default/api-gateway"] == (1, "dependsOn")
    assert affected["component:default/customer-web"][0] == 2
    assert "component:default/identity-service" not in affected
    owners = {o["ref"] for o in impact["owners"]}
    assert "group:default/web-team" in owners
    assert len(owners) == len(impact["owners"])


async def test_impact_includes_consumers_of_provided_apis(backstage: Client) -> None:
    data = await backstage.query(IMPACT, ref="component:wayback-archive", depth=3)

    affected = {a["entity"]["ref"]: (a["distance"], a["via"]) for a in data["impact"]["affected"]}
    assert affected["component:default/wayback-search"] == (1, "consumesApi")


PATH = """query ($from: String!, $to: String!, $depth: Int) {
  path(from: $from, to: $to, maxDepth: $depth) { ref } }"""


async def test_path_is_shortest_or_null(demo: Client) -> None:
    found = await demo.query(
        PATH, **{"from": "component:customer-web", "to": "resource:rates-cache"}
    )
    backwards = await demo.query(
        PATH, **{"from": "resource:rates-cache", "to": "component:customer-web"}
    )
    short = await demo.query(
        PATH, **{"from": "component:customer-web", "to": "resource:rates-cache", "depth": 2}
    )

    refs = [e["ref"] for e in found["path"]]
    assert refs[0] == "component:default/customer-web"
    assert refs[-1] == "resource:default/rates-cache"
    assert len(refs) <= 6
    assert backwards["path"] is None
    assert short["path"] is None


async def test_facets_for_a_sidebar(demo: Client) -> None:
    data = await demo.query(
        """{ entityFacets(fields: ["kind", "spec.lifecycle", "owner"], kind: "component") {
               field values { value count } } }"""
    )

    facets = {
        f["field"]: {v["value"]: v["count"] for v in f["values"]} for f in data["entityFacets"]
    }
    assert facets["kind"] == {"component": 21}
    assert facets["spec.lifecycle"] == {"production": 17, "experimental": 2, "deprecated": 2}
    assert sum(facets["owner"].values()) == 21


async def test_a_path_no_entity_has_is_an_empty_facet_and_an_empty_one_an_error(
    demo: Client,
) -> None:
    data = await demo.query('{ entityFacets(fields: ["color"]) { field values { value } } }')
    errors = await demo.errors('{ entityFacets(fields: [" "]) { field } }')

    assert data["entityFacets"] == [{"field": "color", "values": []}]
    assert errors[0]["message"].startswith("fields: a facet field is empty")


async def test_data_quality_lists(backstage: Client) -> None:
    data = await backstage.query(
        """{ danglingRelations(first: 10) {
               edges { node { sourceRef type targetRef missing origin sourceEntity { ref } } } }
             orphans { edges { node { entity { ref } reason } } } }"""
    )

    dangling = {
        (e["node"]["sourceRef"], e["node"]["targetRef"]) for e in data["danglingRelations"]["edges"]
    }
    assert dangling == {
        ("component:default/artist-lookup", "template:default/springboot-template"),
        ("component:default/www-artist", "template:default/react-ssr-template"),
    }
    assert data["danglingRelations"]["edges"][0]["node"]["missing"] == "target"
    assert data["orphans"]["edges"] == []


async def test_orphans_name_the_missing_owner(client: Client) -> None:
    from tests.factories import record, rel

    await client.store.upsert_entities(
        "t", "r", [record("component:default/lost"), record("component:default/alone")]
    )
    await client.store.upsert_relations(
        "t", "r", [rel("component:default/lost", "ownedBy", "group:default/nobody")]
    )

    data = await client.query(
        "{ orphans(first: 1) { edges { cursor node { entity { ref } reason } } pageInfo { hasNextPage endCursor } } }"
    )
    rest = await client.query(
        "query ($after: String) { orphans(first: 5, after: $after) { edges { node { reason } } } }",
        after=data["orphans"]["pageInfo"]["endCursor"],
    )

    assert data["orphans"]["edges"][0]["node"] == {
        "entity": {"ref": "component:default/alone"},
        "reason": "no owner",
    }
    assert rest["orphans"]["edges"] == [
        {"node": {"reason": "owner group:default/nobody does not exist"}}
    ]


async def test_node_resolves_global_ids(demo: Client) -> None:
    first = await demo.query('{ entity(ref: "group:web-team") { id } }')

    node = await demo.query("query ($id: ID!) { node(id: $id) { ref } }", id=first["entity"]["id"])
    missing = await demo.query('{ node(id: "bm9wZQ==") { ref } }')

    assert node["node"] == {"ref": "group:default/web-team"}
    assert missing["node"] is None


async def test_listing_filters_and_orders(demo: Client) -> None:
    async def refs(args: str) -> list[str]:
        data = await demo.query(
            f"{{ entities(first: 100, {args}) {{ edges {{ node {{ ref }} }} }} }}"
        )
        return [e["node"]["ref"] for e in data["entities"]["edges"]]

    rolled = await refs('owner: "logistics-engineering", includeSubgroups: true')
    direct = await refs('owner: "logistics-engineering"')
    assert "component:default/fleet-service" in rolled
    assert "component:default/fleet-service" not in direct
    websites = await demo.query(
        '{ entities(type: "website", first: 100) { edges { node { ... on Component { type } ... on Template { type } } } } }'
    )
    assert {e["node"]["type"] for e in websites["entities"]["edges"]} == {"website"}
    assert {"component:default/customer-web", "component:default/tracking-web"} <= set(
        await refs('type: "website", kind: "component"')
    )
    assert "component:default/order-service" in await refs('system: "order-management"')
    assert all(
        r.startswith("component:") for r in await refs('annotation: "github.com/project-slug"')
    )
    assert await refs('annotation: "github.com/project-slug=northwind/shipment-tracker"') == [
        "component:default/shipment-tracker"
    ]
    names = [
        r.split("/")[-1] for r in await refs('kind: "user", orderBy: {field: "metadata.name"}')
    ]
    assert names == sorted(names)
    searched = await refs('search: "shipment"')
    assert searched and all("shipment" in r for r in searched[:3])


async def test_cursor_of_another_order_is_refused(demo: Client) -> None:
    data = await demo.query(
        '{ entities(first: 2, orderBy: {field: "metadata.name"}) { pageInfo { endCursor } } }'
    )

    errors = await demo.errors(
        'query ($after: String) { entities(after: $after, orderBy: {field: "kind"}) '
        "{ totalCount } }",
        after=data["entities"]["pageInfo"]["endCursor"],
    )

    assert "same orderBy" in errors[0]["message"]
