"""The location routes of the catalog REST API (Backstage's), over the store's registered
locations (:mod:`ingestors.locations` does the work):

- ``POST /locations`` (``admin``): ``{"type": "url", "target": …}``; 201 ``{location,
  entities: []}``, the target stored and ingested at once; 409 when it is registered
  already. With ``?dryRun=true`` nothing is stored: 201 ``{location, entities, exists}``
  with the entities the target holds (its generated Location entity first).
- ``GET /locations``: ``[{"data": {id, type, target}}]``; ``GET /locations/:id``;
  ``GET /locations/by-entity/:kind/:namespace/:name`` (the registered location whose source
  holds the entity; 404 for an entity of a configured or pushed source).
- ``DELETE /locations/:id`` (``admin``): 204; the location's source stops and its
  entities and relations are deleted.
- ``POST /analyze-location`` (``admin``: it reads any target from the server):
  ``{"location": {type, target}}``; the descriptor files found (``existingEntityFiles``),
  or, when there are none, a Component to start from (``generateEntities``).
- ``POST /refresh`` (``writer``): ``{"entityRef"}``; runs the source that holds the entity
  now (a registered location or a git source: only that repository) and answers 200 once
  the run ends. An entity no scheduled source holds (pushed) has nothing to re-read: 200.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from api.catalog.errors import ConflictError, InputError, NotFoundError
from api.catalog.routes import json_body, json_response
from catalog.entity import Entity
from catalog.errors import InvalidRefError
from catalog.refs import parse_ref
from graph.port import GraphStore, LocationRecord
from ingestors.errors import IngestError
from ingestors.location import LOCATION_TYPE
from ingestors.locations import (
    preview_location,
    register_location,
    remove_location,
)
from ingestors.scheduler import Scheduler

Json = dict[str, Any]
VIEW_URL = "backstage.io/view-url"


def location_json(location: LocationRecord) -> Json:
    return {"id": location.id, "type": location.type, "target": location.target}


class LocationRoutes:
    """The location handlers over one store and scheduler (given by functions: the app
    opens them later; the scheduler may be None, then registrations run here)."""

    def __init__(
        self,
        store: Callable[[], GraphStore],
        scheduler: Callable[[], Scheduler | None],
        *,
        refresh: timedelta,
        max_body_bytes: int,
    ) -> None:
        self._store = store
        self._scheduler = scheduler
        self._refresh = refresh
        self._max_body_bytes = max_body_bytes

    async def create(self, request: Request) -> Response:
        body = await json_body(request, self._max_body_bytes)
        type_, target = _location_input(body)
        dry_run = request.query_params.get("dryRun", "").lower() == "true"
        store = self._store()
        try:
            if dry_run:
                preview = await preview_location(target, type_=type_, store=store)
                exists = any(loc.id == preview.location.id for loc in await store.get_locations())
                return json_response(
                    {
                        "location": location_json(preview.location),
                        "entities": _entities_first_location(preview.entities),
                        "exists": exists,
                    },
                    201,
                )
            registered = await register_location(
                store, target, scheduler=self._scheduler(), refresh=self._refresh, type_=type_
            )
        except (IngestError, ValueError) as exc:
            raise InputError(str(exc)) from None
        if not registered.created:
            raise ConflictError(f"Location {type_}:{target} already exists")
        return json_response({"location": location_json(registered.location), "entities": []}, 201)

    async def list(self, request: Request) -> Response:
        found = await self._store().get_locations()
        return json_response([{"data": location_json(location)} for location in found])

    async def by_id(self, request: Request) -> Response:
        return json_response(location_json(await self._location(request.path_params["id"])))

    async def delete(self, request: Request) -> Response:
        location_id = request.path_params["id"]
        removed = await remove_location(self._store(), location_id, scheduler=self._scheduler())
        if removed is None:
            raise NotFoundError(f"Found no location with ID {location_id}")
        return Response(status_code=204)

    async def by_entity(self, request: Request) -> Response:
        kind, namespace, name = (request.path_params[p] for p in ("kind", "namespace", "name"))
        key = f"{kind}:{namespace}/{name}".lower()
        store = self._store()
        found = await store.get_entities([key])
        if key not in found:
            raise NotFoundError(f"No entity found for ref {key}")
        source = found[key].source
        for location in await store.get_locations():
            if location.source == source:
                return json_response(location_json(location))
        raise NotFoundError(
            f"No location found for entity {key}: it comes from the source {source!r}, "
            "which is not a registered location"
        )

    async def analyze(self, request: Request) -> Response:
        body = await json_body(request, self._max_body_bytes)
        given = body.get("location") if isinstance(body, dict) else None
        type_, target = _location_input(given)
        store = self._store()
        try:
            preview = await preview_location(target, type_=type_)
        except (IngestError, ValueError) as exc:
            raise InputError(str(exc)) from None
        read = [e for e in preview.entities if not _is_generated(e)]
        registered = await store.get_entities([e.ref.key for e in read])
        existing = [
            {
                "entity": entity.to_document(),
                "isRegistered": entity.ref.key in registered,
                "location": {"type": type_, "target": _file_target(entity, target)},
            }
            for entity in read
        ]
        generate = [] if existing else [_suggestion(target)]
        return json_response({"existingEntityFiles": existing, "generateEntities": generate})

    async def refresh(self, request: Request) -> Response:
        body = await json_body(request, self._max_body_bytes)
        text = body.get("entityRef") if isinstance(body, dict) else None
        if not isinstance(text, str):
            raise InputError('the body must be {"entityRef": "kind:namespace/name"}')
        try:
            key = parse_ref(text).key
        except InvalidRefError as exc:
            raise InputError(str(exc)) from None
        found = await self._store().get_entities([key])
        if key not in found:
            raise NotFoundError(f"No entity found for ref {text}")
        scheduler = self._scheduler()
        source = found[key].source
        # pushed, or a source this process does not run: nothing to re-read
        if scheduler is not None and source in {s.name for s in scheduler.sources}:
            await scheduler.run_once(source, "refresh")
        return Response(status_code=200)

    async def _location(self, location_id: str) -> LocationRecord:
        found = await self._store().get_locations([location_id])
        if not found:
            raise NotFoundError(f"Found no location with ID {location_id}")
        return found[0]


def _location_input(body: Any) -> tuple[str, str]:
    if not isinstance(body, dict) or not isinstance(body.get("target"), str):
        raise InputError(
            'the location must be {"type": "url", "target": "https://github.com/org/repo/blob/'
            'main/catalog-info.yaml"}'
        )
    type_ = body.get("type", LOCATION_TYPE)
    if type_ != LOCATION_TYPE:
        raise InputError(f"location type {type_!r} is not supported; use type: {LOCATION_TYPE}")
    return type_, body["target"]


def _is_generated(entity: Entity) -> bool:
    return entity.kind.lower() == "location" and entity.metadata.name.startswith("generated-")


def _entities_first_location(entities: list[Entity]) -> list[Json]:
    ordered = sorted(entities, key=lambda e: not _is_generated(e))
    return [e.to_document() for e in ordered]


def _file_target(entity: Entity, target: str) -> str:
    """Where the entity's descriptor is: its view URL on GitHub/GitLab, else its path
    under the target."""
    annotations = entity.metadata.annotations
    if annotations.get(VIEW_URL):
        return str(annotations[VIEW_URL])
    path = annotations.get("stagegraph.dev/source-path")
    return posixpath.join(target.rstrip("/"), str(path)) if path else target


def _suggestion(target: str) -> Json:
    """A Component to start from for a repository without descriptors, as Backstage's
    analyzer suggests one (the owner is for the user to fill)."""
    name = posixpath.basename(target.rstrip("/")).removesuffix(".git") or "component"
    return {
        "entity": {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": {"name": name},
            "spec": {"type": "other", "lifecycle": "unknown"},
        },
        "fields": [
            {
                "field": "spec.owner",
                "state": "needsUserInput",
                "value": None,
                "description": "Enter the group or user that owns this component",
            }
        ],
    }
