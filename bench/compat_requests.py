"""The requests ``make compat`` sends to Backstage's catalog backend and to Stagegraph, on
the Backstage example catalog (``tests/fixtures/backstage-examples``: ``all.yaml`` and
``acme-corp.yaml``, 63 entities).

Each :class:`Request` is a path under ``/api/catalog`` with its query parameters (a list
of pairs: ``filter`` repeats) and, for a POST, a JSON body. A request with ``walk`` is a
``by-query`` first page followed by pages reached through each server's own
``pageInfo.nextCursor`` / ``prevCursor``; every page is compared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Params = tuple[tuple[str, str], ...]
Step = Literal["next", "prev"]


@dataclass(frozen=True)
class Request:
    name: str
    path: str
    params: Params = ()
    body: dict[str, Any] | None = None  # set: POST
    ordered: bool = True  # does the request ask for an order of its entities?
    walk: tuple[Step, ...] = field(default=())

    @property
    def method(self) -> str:
        return "GET" if self.body is None else "POST"


def _get(name: str, path: str, *params: tuple[str, str], ordered: bool = False) -> Request:
    return Request(name, path, tuple(params), ordered=ordered)


def _entities(name: str, *params: tuple[str, str]) -> Request:
    return _get(name, "/entities", *params)


def _facets(name: str, *params: tuple[str, str]) -> Request:
    return _get(name, "/entity-facets", *params)


def _by_refs(name: str, refs: list[str], *params: tuple[str, str], **body: Any) -> Request:
    return Request(name, "/entities/by-refs", tuple(params), {"entityRefs": refs, **body})


def _query(name: str, *params: tuple[str, str], walk: tuple[Step, ...] = ()) -> Request:
    ordered = any(key == "orderField" for key, _ in params)
    return Request(name, "/entities/by-query", tuple(params), ordered=ordered, walk=walk)


F = "filter"
SOURCE_TEMPLATE = "metadata.annotations.backstage.io/source-template"

REQUESTS: tuple[Request, ...] = (
    # filters: AND within one, OR across repeated, any-of for a repeated key, exists, case
    _entities("every entity"),
    _entities("kind=component", (F, "kind=component")),
    _entities("case-insensitive key and value", (F, "KIND=Component")),
    _entities("AND", (F, "kind=component,spec.type=service")),
    _entities(
        "OR of two filters", (F, "kind=component,spec.lifecycle=production"), (F, "kind=api")
    ),
    _entities("any-of one key", (F, "kind=component,spec.type=website,spec.type=library")),
    _entities("label exists", (F, "metadata.labels.category")),
    _entities("label value, other case", (F, "metadata.labels.category=MUSIC")),
    _entities("annotation exists", (F, SOURCE_TEMPLATE)),
    _entities("annotation value", (F, f"{SOURCE_TEMPLATE}=template:default/springboot-template")),
    _entities("tag", (F, "metadata.tags=java")),
    _entities("namespace", (F, "metadata.namespace=development")),
    _entities("spec.owner", (F, "spec.owner=team-c")),
    _entities("relations.ownedBy", (F, "relations.ownedBy=group:default/team-a")),
    _entities("relations.ownedBy, other case", (F, "relations.ownedby=Group:Default/Team-A")),
    _entities("relations.hasPart exists", (F, "relations.hasPart")),
    _entities("relations.memberOf", (F, "kind=user,relations.memberOf=group:default/team-b")),
    _entities("relations.providesApi exists", (F, "relations.providesApi")),
    _entities(
        "relations.apiConsumedBy", (F, "relations.apiConsumedBy=component:default/www-artist")
    ),
    _entities("no such kind", (F, "kind=nothing")),
    _entities("fields", (F, "kind=api"), ("fields", "kind,metadata.name,spec.type")),
    _entities("fields with relations", (F, "kind=system"), ("fields", "metadata.name,relations")),
    Request(
        "order, offset, limit",
        "/entities",
        ((F, "kind=component"), ("order", "asc:metadata.name"), ("offset", "2"), ("limit", "5")),
    ),
    Request("order desc", "/entities", ((F, "kind=group"), ("order", "desc:metadata.name"))),
    # facets
    _facets("facet kind", ("facet", "kind")),
    _facets(
        "facets spec.type and spec.lifecycle", ("facet", "spec.type"), ("facet", "spec.lifecycle")
    ),
    _facets("facet tags of APIs", ("facet", "metadata.tags"), (F, "kind=api")),
    _facets("facet label", ("facet", "metadata.labels.category")),
    _facets("facet annotation", ("facet", SOURCE_TEMPLATE)),
    _facets("facet relations.ownedBy", ("facet", "relations.ownedBy")),
    _facets("facet relations.memberOf of users", ("facet", "relations.memberOf"), (F, "kind=user")),
    _facets("facet namespace", ("facet", "metadata.namespace")),
    _facets(
        "facet spec.owner, OR filter",
        ("facet", "spec.owner"),
        (F, "kind=component"),
        (F, "kind=api"),
    ),
    # by-refs: request order, null for unknown, fields, filter
    _by_refs(
        "by-refs",
        ["component:default/artist-lookup", "api:default/spotify", "group:default/team-a"],
    ),
    _by_refs(
        "by-refs with unknown refs",
        ["component:default/nothing", "user:development/guest", "nothing:default/nothing"],
    ),
    _by_refs("by-refs, other case", ["Component:Default/Artist-Lookup", "API:default/Spotify"]),
    _by_refs(
        "by-refs with fields in the query",
        ["system:default/audio-playback", "domain:default/playback"],
        ("fields", "kind,metadata.name"),
    ),
    _by_refs(
        "by-refs with fields in the body",
        ["system:default/audio-playback", "domain:default/playback"],
        fields=["kind", "metadata.name", "spec.owner"],
    ),
    _by_refs(
        "by-refs with a filter",
        ["component:default/searcher", "api:default/streetlights", "resource:default/artists-db"],
        (F, "kind=api"),
        (F, "kind=resource"),
    ),
    # by-query: pages both ways, order, full text
    _query(
        "by-query pages forward and back",
        (F, "kind=component"),
        ("limit", "5"),
        ("orderField", "metadata.name,asc"),
        walk=("next", "next", "prev"),
    ),
    _query(
        "by-query descending pages",
        (F, "kind=api"),
        ("limit", "4"),
        ("orderField", "metadata.name,desc"),
        walk=("next", "prev"),
    ),
    _query(
        "by-query two order fields",
        (F, "kind=component"),
        ("orderField", "spec.type,asc"),
        ("orderField", "metadata.name,desc"),
    ),
    _query(
        "by-query OR filters, fields",
        (F, "kind=user"),
        (F, "kind=group"),
        ("fields", "kind,metadata.name"),
        ("orderField", "metadata.name,asc"),
    ),
    _query("by-query full text", ("fullTextFilterTerm", "wayback")),
    _query(
        "by-query full text, one field",
        ("fullTextFilterTerm", "PLAY"),
        ("fullTextFilterFields", "metadata.name"),
        ("orderField", "metadata.name,asc"),
    ),
    _query(
        "by-query offset",
        (F, "kind=group"),
        ("limit", "3"),
        ("offset", "2"),
        ("orderField", "metadata.name,asc"),
    ),
    _query("by-query totals only", (F, "kind=component"), ("limit", "0")),
    # by-name and ancestry
    _get("by-name", "/entities/by-name/component/default/artist-lookup"),
    _get("by-name, other case", "/entities/by-name/Component/Default/Artist-Lookup"),
    _get("by-name of a user in a namespace", "/entities/by-name/user/development/guest"),
    _get("by-name of a group (relations)", "/entities/by-name/group/default/team-a"),
    _get("by-name of a system (relations)", "/entities/by-name/system/default/audio-playback"),
    _get("by-name unknown", "/entities/by-name/component/default/nothing"),
    _get("ancestry", "/entities/by-name/component/default/artist-lookup/ancestry"),
    _get("ancestry of a group", "/entities/by-name/group/default/team-a/ancestry"),
    _get("ancestry unknown", "/entities/by-name/component/default/nothing/ancestry"),
)
