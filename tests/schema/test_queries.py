"""The GraphQL core on both stores: the fixed contract of DESIGN.md, asserted on real data."""

from __future__ import annotations

from tests.schema.conftest import Client

ENTITY = """
query ($ref: String!) {
  entity(ref: $ref) {
    ref kind name namespace title
    owner { ref }
    dependsOn { ref }
    dependencyOf { ref }
    relations { type targetRef target { ref } }
  }
}
"""


async def test_entity_with_owner_relations_and_dependencies(backstage: Client) -> None:
    data = await backstage.query(ENTITY, ref="component:artist-lookup")

    entity = data["entity"]
    assert entity["ref"] == "component:default/artist-lookup"
    assert entity["owner"] == {"ref": "group:default/team-a"}
    assert entity["dependsOn"] == [{"ref": "resource:default/artists-db"}]
    relations = {(r["type"], r["targetRef"]) for r in entity["relations"]}
    assert {
        ("ownedBy", "group:default/team-a"),
        ("partOf", "system:default/artist-engagement-portal"),
        ("dependsOn", "resource:default/artists-db"),
        ("apiConsumedBy", "component:default/www-artist"),
    } <= relations


async def test_inverse_relations_and_dangling_targets(backstage: Client) -> None:
    db = await backstage.query(ENTITY, ref="Resource:default/ARTISTS-DB")
    lookup = await backstage.query(ENTITY, ref="component:default/artist-lookup")

    assert db["entity"]["dependencyOf"] == [{"ref": "component:default/artist-lookup"}]
    template = [r for r in lookup["entity"]["relations"] if r["type"] == "scaffoldedFrom"]
    assert template == [
        {
            "type": "scaffoldedFrom",
            "targetRef": "template:default/springboot-template",
            "target": None,
        }
    ]


async def test_relations_filter_by_inverse_type(backstage: Client) -> None:
    data = await backstage.query(
        """{ entity(ref: "group:team-a") {
               relations(type: "hasMember") { targetRef }
               ... on Group { parent { ref } members { ref } ownerOf { ref } } } }"""
    )

    group = data["entity"]
    assert len(group["relations"]) == 5
    assert {m["ref"] for m in group["members"]} == {r["targetRef"] for r in group["relations"]}
    assert "user:development/guest" in {m["ref"] for m in group["members"]}
    assert group["parent"] == {"ref": "group:default/backstage"}
    assert {"ref": "component:default/artist-lookup"} in group["ownerOf"]


async def test_typed_kind_fields(backstage: Client) -> None:
    data = await backstage.query(
        """{ petstore: entity(ref: "component:petstore") {
               ... on Component { type lifecycle system { ref } providesApis { ref } } }
             api: entity(ref: "api:wayback-archive") {
               ... on API { type providers { ref } consumers { ref } definition } }
             relative: entity(ref: "api:petstore") { ... on API { definition } }
             system: entity(ref: "system:audio-playback") {
               ... on System { domain { ref } components { ref } } } }"""
    )

    assert {a["ref"] for a in data["petstore"]["providesApis"]} == {
        "api:default/petstore",
        "api:default/streetlights",
        "api:default/hello-world",
    }
    assert data["api"]["providers"] == [{"ref": "component:default/wayback-archive"}]
    assert data["api"]["consumers"] == [{"ref": "component:default/wayback-search"}]
    assert data["api"]["definition"] is None  # remote $text, not fetched
    assert data["relative"]["definition"].startswith("openapi:")
    assert data["system"]["domain"] == {"ref": "domain:default/playback"}


async def test_entities_pages_cover_everything_once(backstage: Client) -> None:
    query = """query ($after: String) {
      entities(first: 7, after: $after) {
        totalCount edges { cursor node { ref } } pageInfo { hasNextPage endCursor } } }"""
    seen: list[str] = []
    after = None
    while True:
        page = (await backstage.query(query, after=after))["entities"]
        seen.extend(edge["node"]["ref"] for edge in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    assert page["totalCount"] == 63
    assert len(seen) == len(set(seen)) == 63


async def test_entities_filters(backstage: Client) -> None:
    query = """query ($kind: [String!], $owner: String, $tag: String, $namespace: String,
                      $search: String) {
      entities(kind: $kind, owner: $owner, tag: $tag, namespace: $namespace, search: $search,
               first: 100) { totalCount edges { node { ref } } } }"""

    async def refs(**filters: str) -> set[str]:
        data = await backstage.query(query, **filters)
        found = {e["node"]["ref"] for e in data["entities"]["edges"]}
        assert len(found) == data["entities"]["totalCount"]
        return found

    assert len(await refs(kind="USER")) == 17
    assert await refs(namespace="development") == {"user:development/guest"}
    assert await refs(owner="user:guest") == {
        "component:default/playback-order",
        "component:default/searcher",
        "component:default/shuffle-api",
    }
    assert "component:default/artist-lookup" in await refs(kind="component", owner="team-a")
    assert await refs(kind="component", tag="java") >= {"component:default/artist-lookup"}
    assert "api:default/petstore" in await refs(search="petstore")


async def test_bad_arguments_are_clear_user_errors(backstage: Client) -> None:
    too_many = await backstage.errors("{ entities(first: 101) { totalCount } }")
    bad_ref = await backstage.errors('{ entity(ref: "component:") { ref } }')
    bad_cursor = await backstage.errors('{ entities(after: "nope") { totalCount } }')

    assert too_many[0]["message"] == "first must be between 1 and 100, got 101"
    assert too_many[0]["extensions"] == {"code": "BAD_USER_INPUT"}
    assert "write refs as kind:namespace/name" in bad_ref[0]["message"]
    assert "invalid cursor" in bad_cursor[0]["message"]


async def test_owned_entities_roll_up_through_subgroups(backstage: Client) -> None:
    query = """query ($owner: String!, $sub: Boolean!) {
      ownedEntities(owner: $owner, includeSubgroups: $sub) { ref } }"""

    direct = await backstage.query(query, owner="group:default/boxoffice", sub=False)
    rolled = await backstage.query(query, owner="boxoffice", sub=True)
    team_c = await backstage.query(query, owner="team-c", sub=False)
    team_d = await backstage.query(query, owner="team-d", sub=False)

    assert direct["ownedEntities"] == []
    expected = {e["ref"] for e in team_c["ownedEntities"]} | {
        e["ref"] for e in team_d["ownedEntities"]
    }
    assert {e["ref"] for e in rolled["ownedEntities"]} == expected
    assert "component:default/petstore" in expected


DEPENDENCIES = """query ($ref: String!, $direction: Direction, $depth: Int) {
  dependencies(ref: $ref, direction: $direction, maxDepth: $depth) {
    root { ref } nodes { ref } edges { from to depth } } }"""


async def test_dependency_chain_downstream(demo: Client) -> None:
    data = await demo.query(
        DEPENDENCIES, ref="component:customer-web", direction="DOWNSTREAM", depth=10
    )

    graph = data["dependencies"]
    nodes = {n["ref"] for n in graph["nodes"]}
    assert graph["root"] == {"ref": "component:default/customer-web"}
    assert "component:default/customer-web" not in nodes
    assert {
        "component:default/api-gateway",
        "component:default/order-service",
        "component:default/pricing-service",
        "component:default/carrier-rates-service",
        "resource:default/rates-cache",
        "resource:default/postgres-prod-cluster",
    } <= nodes
    depth = {e["to"]: e["depth"] for e in graph["edges"] if e["from"].endswith("/customer-web")}
    assert depth["component:default/api-gateway"] == 1
    assert all(e["depth"] <= 10 for e in graph["edges"])


async def test_dependencies_are_cycle_safe_and_depth_limited(demo: Client) -> None:
    cycle = await demo.query(
        DEPENDENCIES, ref="component:fleet-service", direction="DOWNSTREAM", depth=10
    )
    one = await demo.query(
        DEPENDENCIES, ref="component:customer-web", direction="DOWNSTREAM", depth=1
    )
    up = await demo.query(
        DEPENDENCIES, ref="component:identity-service", direction="UPSTREAM", depth=1
    )

    refs = [n["ref"] for n in cycle["dependencies"]["nodes"]]
    assert "component:default/route-optimizer" in refs
    assert len(refs) == len(set(refs))
    back = {(e["from"], e["to"]) for e in cycle["dependencies"]["edges"]}
    assert ("component:default/route-optimizer", "component:default/fleet-service") in back
    assert all(e["depth"] == 1 for e in one["dependencies"]["edges"])
    assert all(e["from"].endswith("/customer-web") for e in one["dependencies"]["edges"])
    dependents = {e["from"] for e in up["dependencies"]["edges"]}
    assert len(dependents) == 7
    assert all(e["to"] == "component:default/identity-service" for e in up["dependencies"]["edges"])
