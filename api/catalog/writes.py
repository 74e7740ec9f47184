"""The first write routes of the catalog REST API: removing an entity by uid, and checking
an entity without storing it.

- ``DELETE /entities/by-uid/:uid`` (``writer``): deletes the entity from the source that
  holds it, with its outgoing relations; 204, or 404 when no entity has that uid. As in
  Backstage, a source that still has the entity brings it back on its next run.
- ``POST /validate-entity`` (``reader``): ``{"entity": {...}, "location": "type:target"}``;
  200 with no body when the entity is valid, else 400 with Backstage's
  ``{"errors": [{"name", "message"}]}`` (the message names the entity and the field). The
  kind must be one the catalog admits (``catalog.rules``: a configured custom kind passes,
  a kind outside the rules is refused naming the setting), with the own ``rules`` of the
  configured source that reads ``location`` added, when one does
  (:func:`ingestors.location_source.source_reading`), as a run of that source would admit it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import Response

from api.catalog.errors import NotFoundError
from api.catalog.routes import json_body, json_response
from catalog.errors import CatalogError
from catalog.rules import KindRules
from catalog.validation import validate_entity
from graph.port import ChangeLog, EntityFilter, EntityReader, EntityWriter, FieldCondition
from ingestors.changes import deleted_changes
from ingestors.contract import SourceConfig
from ingestors.location_source import source_reading


class Store(EntityReader, EntityWriter, ChangeLog, Protocol):
    """What the write routes need of the store (deletions are recorded as changes)."""


class Writes:
    """The write handlers over one store (given by a function: the app opens it later)."""

    def __init__(
        self,
        store: Callable[[], Store],
        max_body_bytes: int,
        kinds: KindRules | None = None,
        sources: Sequence[SourceConfig] = (),
    ) -> None:
        self._store = store
        self._max_body_bytes = max_body_bytes
        self._kinds = kinds or KindRules()
        self._sources = tuple(sources)

    async def delete_by_uid(self, request: Request) -> Response:
        store = self._store()
        uid = request.path_params["uid"]
        flt = EntityFilter(any_of=((FieldCondition("metadata.uid", (uid,)),),))
        found = await store.select_entities(flt, [], 0, 1)
        if not found:
            raise NotFoundError(f"No entity with uid {uid}")
        (entity,) = found
        if await store.delete_entities(entity.source, [entity.key]):
            await store.record_changes(
                deleted_changes(source=entity.source, run_id=None, entities=[entity])
            )
        return Response(status_code=204)

    async def validate(self, request: Request) -> Response:
        body = await json_body(request, self._max_body_bytes)
        problem = _body_problem(body)
        if problem is None:
            try:
                kind = validate_entity(body["entity"]).kind
            except CatalogError as exc:
                problem = str(exc)
            else:
                rules = self._rules_at(body["location"])
                if not rules.admits(kind):
                    problem = rules.refusal(kind)
        if problem is not None:
            return json_response({"errors": [{"name": "InputError", "message": problem}]}, 400)
        return Response(status_code=200)

    def _rules_at(self, location: str) -> KindRules:
        """The kind rules for an entity at ``location``: the source reading it adds its own."""
        source = source_reading(location, self._sources)
        if source is None:
            return self._kinds
        return self._kinds.for_source(source.name, source.rules)


def _body_problem(body: Any) -> str | None:
    if not isinstance(body, dict) or not isinstance(body.get("entity"), dict):
        return 'the body must be {"entity": {...}, "location": "url:https://..."}'
    location = body.get("location")
    if not isinstance(location, str) or ":" not in location.strip(":"):
        return f"location must be a string type:target (e.g. url:https://...), got {location!r}"
    return None
