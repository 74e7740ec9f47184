"""The questions of ``make bench-peers`` (issue 14's two tables), as each server is asked
them: Backstage's catalog REST API, Stagegraph (its Backstage REST API where the question
is the same REST call, its GraphQL where Stagegraph answers more: names resolved, the
sub-team roll-up), and @neo4j/graphql.

Each ``*_ask`` returns a function of an ``httpx.Client`` (based at the server's root) that
asks once and returns the number of rows it got, for :func:`bench.reads.measure`; the
``send`` functions make one request for :func:`bench.load.throughput`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from bench.questions import DEPENDENCIES_GRAPHQL, PAGE_GRAPHQL, ROLLUP_GRAPHQL
from bench.shape import Catalog

Ask = Callable[[httpx.Client], int]
Send = Callable[[httpx.Client], httpx.Response]
CATALOG = "/api/catalog"
PAGE_SIZE = 100
SEARCH_LIMIT = 20


@dataclass(frozen=True)
class Targets:
    """What the questions are asked about in this catalog."""

    deep: str  # a component at the head of a long dependency chain
    team: str  # a team that owns entities directly
    department: str  # a department whose teams are rolled up
    search: str  # a full-text term


def targets(catalog: Catalog) -> Targets:
    department = catalog.departments[0]
    return Targets(
        deep=f"component:default/{catalog.deep}",
        team=f"group:default/{department.teams[0]}",
        department=f"group:default/{department.name}",
        search=catalog.hub.rsplit("-", 1)[0],  # e.g. payments-processor
    )


def _name_path(ref: str) -> str:
    kind, rest = ref.split(":", 1)
    namespace, name = rest.split("/", 1)
    return f"{CATALOG}/entities/by-name/{kind}/{namespace}/{name}"


def _json(response: httpx.Response) -> Any:
    response.raise_for_status()
    return response.json()


def _graphql(http: httpx.Client, path: str, query: str, variables: dict[str, Any]) -> Any:
    body = _json(http.post(path, json={"query": query, "variables": variables}))
    if body.get("errors"):
        raise RuntimeError(f"GraphQL errors: {body['errors']}")
    return body["data"]


# -- the REST questions, the same call to Backstage and to Stagegraph -----------------------


def by_ref_rest(ref: str) -> Ask:
    """The whole entity with its relations."""
    return lambda http: 1 if _json(http.get(_name_path(ref))) else 0


def page_rest_send(http: httpx.Client) -> httpx.Response:
    return http.get(
        f"{CATALOG}/entities/by-query",
        params={"filter": "kind=component", "limit": PAGE_SIZE, "orderField": "metadata.name,asc"},
    )


def page_rest(http: httpx.Client) -> int:
    return len(_json(page_rest_send(http))["items"])


def facets_rest(http: httpx.Client) -> int:
    body = _json(
        http.get(f"{CATALOG}/entity-facets", params=[("facet", "kind"), ("facet", "spec.type")])
    )
    return sum(len(values) for values in body["facets"].values())


def owned_rest(team: str) -> Ask:
    return lambda http: len(
        _json(http.get(f"{CATALOG}/entities", params={"filter": f"relations.ownedBy={team}"}))
    )


#: What the catalog page's search box sends (backstage/backstage#30184): a page of a kind
#: in name order, the term matched in the name, title and display name. Without
#: ``fullTextFilterFields`` or an ``orderField`` the term is matched in ``metadata.uid``
#: alone, which no term of a name matches.
SEARCH_FIELDS = "metadata.name,metadata.title,spec.profile.displayName"


def search_params(term: str) -> list[tuple[str, str | int | float | bool | None]]:
    return [
        ("filter", "kind=component"),
        ("orderField", "metadata.name,asc"),
        ("fullTextFilterTerm", term),
        ("fullTextFilterFields", SEARCH_FIELDS),
        ("limit", SEARCH_LIMIT),
    ]


def search_rest(term: str) -> Ask:
    return lambda http: len(
        _json(http.get(f"{CATALOG}/entities/by-query", params=search_params(term)))["items"]
    )


def rollup_backstage(department: str) -> Ask:
    """Backstage has no transitive query: the client walks ``childOf`` a level at a time
    (one request per level), then asks for what any of the groups owns in one request."""

    def ask(http: httpx.Client) -> int:
        groups, frontier = [department], [department]
        while frontier:
            condition = ",".join(["kind=group", *(f"relations.childOf={g}" for g in frontier)])
            found = _json(
                http.get(
                    f"{CATALOG}/entities",
                    params={"filter": condition, "fields": "kind,metadata.namespace,metadata.name"},
                )
            )
            frontier = [
                f"group:{e['metadata'].get('namespace', 'default')}/{e['metadata']['name']}"
                for e in found
            ]
            groups += frontier
        owners = ",".join(f"relations.ownedBy={g}" for g in groups)
        return len(_json(http.get(f"{CATALOG}/entities", params={"filter": owners})))

    return ask


def subgroups_backstage(http: httpx.Client, department: str) -> int:
    """How many groups are below ``department`` (for the row's label)."""
    count, frontier = 0, [department]
    while frontier:
        condition = ",".join(["kind=group", *(f"relations.childOf={g}" for g in frontier)])
        found = _json(
            http.get(f"{CATALOG}/entities", params={"filter": condition, "fields": "metadata.name"})
        )
        frontier = [f"group:default/{e['metadata']['name']}" for e in found]
        count += len(frontier)
    return count


# -- Stagegraph's GraphQL --------------------------------------------------------------------

PAGE_WITH_DEPENDENCIES_GRAPHQL = """
query {
  entities(kind: "component", first: 100) {
    edges { node { ref owner { ref }
      ... on Component { dependsOn { ref } providesApis { ref } } } }
  }
}
"""
BY_REF_GRAPHQL = "query($ref: String!) { entity(ref: $ref) { ref kind title } }"


def page_graphql_send(http: httpx.Client) -> httpx.Response:
    return http.post("/graphql", json={"query": PAGE_GRAPHQL})


def page_graphql(http: httpx.Client) -> int:
    return len(_graphql(http, "/graphql", PAGE_GRAPHQL, {})["entities"]["edges"])


def page_deps_graphql_send(http: httpx.Client) -> httpx.Response:
    return http.post("/graphql", json={"query": PAGE_WITH_DEPENDENCIES_GRAPHQL})


def page_deps_graphql(http: httpx.Client) -> int:
    data = _graphql(http, "/graphql", PAGE_WITH_DEPENDENCIES_GRAPHQL, {})
    return len(data["entities"]["edges"])


def by_ref_graphql(ref: str) -> Ask:
    return lambda http: (
        1 if _graphql(http, "/graphql", BY_REF_GRAPHQL, {"ref": ref})["entity"] else 0
    )


def dependencies_graphql(ref: str) -> Ask:
    return lambda http: len(
        _graphql(http, "/graphql", DEPENDENCIES_GRAPHQL, {"ref": ref})["dependencies"]["nodes"]
    )


def rollup_graphql(owner: str) -> Ask:
    return lambda http: len(
        _graphql(http, "/graphql", ROLLUP_GRAPHQL, {"owner": owner})["ownedEntities"]
    )


# -- @neo4j/graphql (typeDefs: bench/peers/typeDefs.graphql) ---------------------------------

N_BY_REF = "query($key: String!) { entities(where: { key: { eq: $key } }) { ref kind title } }"
N_PAGE = """
query {
  entities(where: { kind: { eq: "component" } }, sort: [{ key: ASC }], limit: 100) {
    ref ownedBy { ref } dependsOn { ref } providesApis { ref }
  }
}
"""
N_DEPENDENCIES = """
query($key: String!) { entities(where: { key: { eq: $key } }) { dependencies { ref kind } } }
"""
N_ROLLUP = """
query($key: String!) {
  entities(where: { key: { eq: $key } }) { ownedThroughSubgroups { ref kind } }
}
"""


def n_by_ref(ref: str) -> Ask:
    return lambda http: len(_graphql(http, "/graphql", N_BY_REF, {"key": ref.lower()})["entities"])


def n_page_send(http: httpx.Client) -> httpx.Response:
    return http.post("/graphql", json={"query": N_PAGE})


def n_page(http: httpx.Client) -> int:
    return len(_graphql(http, "/graphql", N_PAGE, {})["entities"])


def n_dependencies(ref: str) -> Ask:
    return lambda http: sum(
        len(e["dependencies"])
        for e in _graphql(http, "/graphql", N_DEPENDENCIES, {"key": ref.lower()})["entities"]
    )


def n_rollup(owner: str) -> Ask:
    return lambda http: sum(
        len(e["ownedThroughSubgroups"])
        for e in _graphql(http, "/graphql", N_ROLLUP, {"key": owner.lower()})["entities"]
    )
