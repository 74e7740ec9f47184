"""Entities in Backstage's JSON: the stored document with ``metadata.uid``, ``metadata.etag``
and ``relations``, and the ``fields`` projection.

- ``metadata.uid`` is :func:`graph.fields.entity_uid` of the key: stable across runs and
  stores. ``metadata.etag`` is the entity's content hash, so it changes when the entity does.
- ``relations`` lists ``{type, targetRef}`` in both directions, as Backstage stitches them: a
  stored ``ownedBy`` from a component to a group gives the component ``ownedBy`` and the
  group ``ownerOf``; sorted by type, then target ref.
- ``metadata.name`` and ``metadata.namespace`` are always present.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from catalog.relations import RELATION_TYPES
from graph.fields import entity_uid
from graph.port import StoredEntity, StoredRelation

Json = dict[str, Any]


def relations_by_key(
    relations: Iterable[StoredRelation], keys: Collection[str] | None = None
) -> dict[str, list[Json]]:
    """Each entity key's relations as Backstage lists them (both directions); only the
    entities of ``keys`` when given (a page's relations reach far more entities than it
    renders: a team's 53 entities have 1,600 relations on the bench catalog)."""
    found: dict[str, dict[tuple[str, str], Json]] = {}
    for r in relations:
        source_key, target_key = r.source_ref.lower(), r.target_ref.lower()
        if keys is None or source_key in keys:
            forward = {"type": r.type, "targetRef": r.target_ref}
            found.setdefault(source_key, {})[(r.type, target_key)] = forward
        if keys is None or target_key in keys:
            inverse = {"type": RELATION_TYPES[r.type], "targetRef": r.source_ref}
            found.setdefault(target_key, {})[(inverse["type"], source_key)] = inverse
    return {key: [listed[k] for k in sorted(listed)] for key, listed in found.items()}


def backstage_entity(stored: StoredEntity, relations: Sequence[Json]) -> Json:
    """The entity as Backstage's catalog answers it: a new top level and ``metadata`` over
    the stored document's other parts, shared (a response is serialized, never changed; a
    deep copy of every document cost a third of a listing's time)."""
    entity = dict(stored.document)
    stored_metadata = entity.get("metadata")
    metadata = dict(stored_metadata) if isinstance(stored_metadata, dict) else {}
    entity["metadata"] = metadata
    metadata["name"] = stored.name
    metadata["namespace"] = stored.namespace
    metadata["uid"] = entity_uid(stored.key)
    metadata["etag"] = stored.hash
    entity["relations"] = list(relations)
    return entity


def _merge(into: Json, part: Json) -> None:
    for key, value in part.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def select_fields(entity: Json, paths: Sequence[str]) -> Json:
    """Only the parts of ``entity`` at ``paths`` (all of it when ``paths`` is empty)."""
    if not paths:
        return entity
    kept: Json = {}
    for path in paths:
        _merge(kept, _nest(path, entity))
    return kept


def _nest(path: str, entity: Json) -> Json:
    """``{a: {b: value}}`` for the path ``a.b`` of ``entity``, or ``{}`` when it has none. A
    key may itself hold dots (``metadata.annotations.backstage.io/source-location``): the
    longest key that exists at each level is taken."""
    parts = path.split(".")
    value: Any = entity
    nested: Json = {}
    cursor = nested
    while parts:
        for end in range(len(parts), 0, -1):
            key = ".".join(parts[:end])
            if isinstance(value, dict) and key in value:
                value = value[key]
                parts = parts[end:]
                if parts:
                    cursor[key] = {}
                    cursor = cursor[key]
                else:
                    cursor[key] = copy.deepcopy(value)
                break
        else:
            return {}
    return nested
