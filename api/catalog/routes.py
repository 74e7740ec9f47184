"""The read routes of the catalog REST API, under ``/api/catalog`` (Backstage's paths).

Every route reads the store a fixed number of times whatever the number of entities it
returns: the entities (one query), their relations (one more, skipped when ``fields``
leaves ``relations`` out), and for by-query the total (one more).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote

import orjson
from starlette.requests import Request
from starlette.responses import Response

from api.catalog import cursor
from api.catalog.entities import Json, backstage_entity, relations_by_key, select_fields
from api.catalog.errors import InputError, NotFoundError
from api.catalog.params import (
    FilterSets,
    parse_count,
    parse_fields,
    parse_filter,
    parse_order,
    parse_order_fields,
)
from catalog.errors import InvalidRefError
from catalog.refs import parse_ref
from graph.port import (
    Direction,
    EntityFilter,
    EntityReader,
    FieldCondition,
    FieldOrder,
    StoredEntity,
    StoredRelation,
    TextFilter,
)
from ingestors.location.transform import LOCATION_TYPE, location_ref

#: by-query's page size when the request gives none (Backstage's default).
DEFAULT_QUERY_LIMIT = 20
#: the full-text filter's path when neither fullTextFilterFields nor orderField name one.
DEFAULT_TEXT_PATH = "metadata.uid"
ORIGIN_ANNOTATION = "backstage.io/managed-by-origin-location"


def _wants_relations(fields: Sequence[str]) -> bool:
    return not fields or any(f.split(".")[0] == "relations" for f in fields)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


class Reads:
    """The read handlers over one store (given by a function: the app opens it later)."""

    def __init__(self, store: Callable[[], EntityReader], max_body_bytes: int) -> None:
        self._store = store
        self._max_body_bytes = max_body_bytes

    @property
    def store(self) -> EntityReader:
        return self._store()

    async def _render(
        self,
        entities: Sequence[StoredEntity],
        fields: Sequence[str],
        read: Sequence[StoredRelation] | None = None,
    ) -> list[Json]:
        """Entities in Backstage's JSON, relations read in one query for all of them (unless
        ``read`` holds them already)."""
        relations: dict[str, list[Json]] = {}
        if entities and _wants_relations(fields):
            keys = list(dict.fromkeys(e.key for e in entities))
            if read is None:
                read = await self.store.get_relations(keys, Direction.BOTH)
            relations = relations_by_key(read, set(keys))
        return [
            select_fields(backstage_entity(e, relations.get(e.key, [])), fields) for e in entities
        ]

    async def _select(
        self,
        flt: EntityFilter,
        order: Sequence[FieldOrder],
        offset: int,
        limit: int,
        fields: Sequence[str],
    ) -> tuple[list[StoredEntity], list[StoredRelation] | None]:
        """A page, with its relations in the same statement when the fields want them."""
        if _wants_relations(fields):
            return await self.store.select_entities_with_relations(flt, order, offset, limit)
        return await self.store.select_entities(flt, order, offset, limit), None

    async def entities(self, request: Request) -> Response:
        """``GET /entities``: an array; with ``limit``, a ``Link`` header to the next page."""
        params = request.query_params
        flt = EntityFilter(any_of=parse_filter(params.getlist("filter")))
        fields = parse_fields(params.getlist("fields"))
        order = parse_order(params.getlist("order"))
        limit = parse_count("limit", params.get("limit"))
        offset = parse_count("offset", params.get("offset")) or 0
        after = params.get("after")
        if after:
            offset = _after_offset(after)
        size = limit + 1 if limit is not None else None
        found, read = await self._select(flt, order, offset, size or 2**62, fields)
        headers = {}
        if limit is not None and len(found) > limit:
            found = found[:limit]  # the relations of the one more are not rendered
            headers["Link"] = _next_link(request, offset + limit)
        return json_response(await self._render(found, fields, read), headers=headers)

    async def by_query(self, request: Request) -> Response:
        """``GET /entities/by-query``: ``items``, ``totalItems``, ``pageInfo``."""
        params = request.query_params
        fields = parse_fields(params.getlist("fields"))
        limit = parse_count("limit", params.get("limit"))
        limit = DEFAULT_QUERY_LIMIT if limit is None else limit
        given = params.get("cursor")
        query = cursor.decode(given) if given else _initial_query(params)
        flt = EntityFilter(any_of=query.filter, text=query.text)
        found, read, total = await self.store.query_entities(
            flt, query.order, query.offset, limit, _wants_relations(fields)
        )
        page_info: dict[str, str] = {}
        if query.offset + len(found) < total and found:
            page_info["nextCursor"] = cursor.encode(_at(query, query.offset + len(found)))
        if query.offset > 0:
            page_info["prevCursor"] = cursor.encode(_at(query, max(query.offset - limit, 0)))
        return json_response(
            {
                "items": await self._render(found, fields, read),
                "totalItems": total,
                "pageInfo": page_info,
            }
        )

    async def by_refs(self, request: Request) -> Response:
        """``POST /entities/by-refs``: ``items`` in request order, null where none matched."""
        body = await json_body(request, self._max_body_bytes)
        refs = body.get("entityRefs") if isinstance(body, dict) else None
        if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
            raise InputError('the body must be {"entityRefs": ["kind:namespace/name", ...]}')
        raw_fields = body.get("fields", [])
        if not isinstance(raw_fields, list) or not all(isinstance(f, str) for f in raw_fields):
            raise InputError('"fields" must be a list of dot paths, e.g. ["metadata.name"]')
        fields = parse_fields(raw_fields)
        sets = parse_filter(request.query_params.getlist("filter"))
        keys = [_key(ref) for ref in refs]
        wanted = list(dict.fromkeys(k for k in keys if k is not None))
        if not wanted:
            found: dict[str, StoredEntity] = {}
        elif sets:
            flt = EntityFilter(any_of=sets, keys=tuple(wanted))
            listed = await self.store.select_entities(flt, [], 0, len(wanted))
            found = {e.key: e for e in listed}
        else:
            found = await self.store.get_entities(wanted)
        rendered = dict(zip(found, await self._render(list(found.values()), fields), strict=True))
        return json_response({"items": [rendered.get(k) if k else None for k in keys]})

    async def by_uid(self, request: Request) -> Response:
        uid = request.path_params["uid"]
        flt = EntityFilter(any_of=((FieldCondition("metadata.uid", (uid,)),),))
        found = await self.store.select_entities(flt, [], 0, 1)
        if not found:
            raise NotFoundError(f"No entity with uid {uid}")
        (entity,) = await self._render(found, [])
        return json_response(entity)

    async def _by_name(self, request: Request) -> StoredEntity:
        key = _path_key(request)
        found = await self.store.get_entities([key])
        if key not in found:
            raise _not_found(request)
        return found[key]

    async def by_name(self, request: Request) -> Response:
        """The entity and its relations, read in one statement (an entity that does not
        exist has none)."""
        key = _path_key(request)
        found, relations = await self.store.get_entities_with_relations([key], Direction.BOTH)
        if key not in found:
            raise _not_found(request)
        rendered = backstage_entity(found[key], relations_by_key(relations, {key}).get(key, []))
        return json_response(rendered)

    async def ancestry(self, request: Request) -> Response:
        """The entity, then the location that emitted it, as Backstage chains them: an
        entity read from a registered location (its ``managed-by-origin-location`` is
        ``url:<target>``) has that location's ``location:default/generated-…`` entity as its
        parent, which is a root. Any other entity is its own root."""
        stored = await self._by_name(request)
        chain = [stored]
        parent_key = location_ref_of(stored)
        if parent_key is not None and parent_key != stored.key:
            chain += (await self.store.get_entities([parent_key])).values()
        rendered = await self._render(chain, [])
        parents = [[e.ref] for e in chain[1:]] + [[]]
        return json_response(
            {
                "rootEntityRef": stored.ref,
                "items": [
                    {"entity": entity, "parentEntityRefs": refs}
                    for entity, refs in zip(rendered, parents, strict=True)
                ],
            }
        )

    async def facets(self, request: Request) -> Response:
        """``GET /entity-facets``: ``{"facets": {path: [{value, count}]}}``."""
        params = request.query_params
        paths = [p.strip() for p in params.getlist("facet") if p.strip()]
        if not paths:
            raise InputError("give at least one facet parameter, e.g. facet=kind")
        flt = EntityFilter(any_of=parse_filter(params.getlist("filter")))
        counts = await self.store.field_facets(paths, flt)
        return json_response(
            {
                "facets": {
                    path: [{"value": value, "count": n} for value, n in counts.get(path, [])]
                    for path in paths
                }
            }
        )


def _path_key(request: Request) -> str:
    """The key of the entity a by-name path names."""
    kind, namespace, name = (request.path_params[p] for p in ("kind", "namespace", "name"))
    return f"{kind}:{namespace}/{name}".lower()


def _not_found(request: Request) -> NotFoundError:
    kind, namespace, name = (request.path_params[p] for p in ("kind", "namespace", "name"))
    return NotFoundError(
        f"No entity named '{name}' found, with kind '{kind}' in namespace '{namespace}'"
    )


def location_ref_of(entity: StoredEntity) -> str | None:
    """The key of the generated Location entity of the location ``entity`` was read from
    (from its ``managed-by-origin-location``), or None when that is not a ``url`` location."""
    annotations = entity.document.get("metadata", {}).get("annotations") or {}
    origin = annotations.get(ORIGIN_ANNOTATION)
    if not isinstance(origin, str) or not origin.startswith(f"{LOCATION_TYPE}:"):
        return None
    return location_ref(origin.removeprefix(f"{LOCATION_TYPE}:"))


def _initial_query(params: Any) -> cursor.Query:
    sets: FilterSets = parse_filter(params.getlist("filter"))
    order = tuple(parse_order_fields(params.getlist("orderField")))
    term = (params.get("fullTextFilterTerm") or "").strip()
    text = None
    if term:
        paths = parse_fields(params.getlist("fullTextFilterFields"))
        if not paths:
            paths = [order[0].path] if order else [DEFAULT_TEXT_PATH]
        text = TextFilter(term, tuple(paths))
    offset = parse_count("offset", params.get("offset")) or 0
    return cursor.Query(sets, order, text, offset)


def _at(query: cursor.Query, offset: int) -> cursor.Query:
    return cursor.Query(query.filter, query.order, query.text, offset)


def _key(ref: str) -> str | None:
    try:
        return parse_ref(ref).key
    except InvalidRefError:
        return None


def _after_offset(after: str) -> int:
    try:
        offset = int(base64.b64decode(after, validate=True).decode())
    except (binascii.Error, UnicodeDecodeError, ValueError):
        offset = -1
    if offset < 0:
        raise InputError(
            f"malformed after {after[:40]!r}: pass the after of a Link header unchanged"
        )
    return offset


def _next_link(request: Request, offset: int) -> str:
    """Backstage's ``Link`` to the next page: the same query with ``after`` for ``offset``."""
    items = [(k, v) for k, v in request.query_params.multi_items() if k not in ("offset", "after")]
    items.append(("after", base64.b64encode(str(offset).encode()).decode()))
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in items)
    raw = request.scope.get("raw_path")
    path = raw.decode("latin-1") if isinstance(raw, bytes) else request.url.path
    return f'<{path}?{query}>; rel="next"'


async def json_body(request: Request, max_bytes: int) -> Any:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise InputError(f"request body is over the limit of {max_bytes} bytes")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise InputError(f"request body is over the limit of {max_bytes} bytes")
    try:
        return orjson.loads(body) if body else {}
    except orjson.JSONDecodeError as exc:
        raise InputError(f"the request body is not JSON: {exc}") from None
