"""Validation of raw descriptors into :class:`~catalog.entity.Entity`, with clear errors."""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from catalog.entity import Entity
from catalog.errors import InvalidEntityError, InvalidRefError, SourceLocation
from catalog.kinds import KIND_SPECS
from catalog.relations import Relation, derive_relations

#: Relations derived while validating, by entity (``id`` while the entity lives): the
#: runner needs them again, and deriving them twice cost a tenth of a 10k-entity ingest.
_derived: dict[int, tuple[weakref.ref[Entity], list[Relation]]] = {}


def _remember(entity: Entity, relations: list[Relation]) -> None:
    key = id(entity)
    _derived[key] = (weakref.ref(entity, lambda _: _derived.pop(key, None)), relations)


def relations_of(entity: Entity) -> list[Relation]:
    """The entity's relations (:func:`~catalog.relations.derive_relations`), computed once:
    those found when :func:`validate_entity` made it, else derived now."""
    remembered = _derived.get(id(entity))
    if remembered is not None and remembered[0]() is entity:
        return list(remembered[1])
    return derive_relations(entity)


def _describe(raw: Mapping[str, Any]) -> str | None:
    """A best-effort label for an entity that may be broken: ``kind:namespace/name``."""
    kind = raw.get("kind")
    metadata = raw.get("metadata")
    name = metadata.get("name") if isinstance(metadata, Mapping) else None
    namespace = metadata.get("namespace", "default") if isinstance(metadata, Mapping) else "default"
    if isinstance(kind, str) and isinstance(name, str):
        return f"{kind.lower()}:{namespace}/{name}"
    return None


def _first_error(exc: ValidationError, prefix: str = "") -> tuple[str, str]:
    err = exc.errors()[0]
    path = ".".join(str(p) for p in err["loc"])
    field = f"{prefix}{path}" if path else prefix.rstrip(".")
    message = err["msg"]
    if err["type"] == "missing":
        message = "is required but missing"
    elif message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    return field, message


def validate_entity(raw: Any, location: SourceLocation | None = None) -> Entity:
    """Check a raw descriptor against Backstage's rules and return the entity.

    Raises :class:`InvalidEntityError` naming the entity, the field and the location.
    """
    if not isinstance(raw, Mapping):
        raise InvalidEntityError(
            f"a descriptor must be a mapping with apiVersion, kind and metadata, "
            f"got {type(raw).__name__}",
            location=location,
        )
    label = _describe(raw)
    try:
        entity = Entity.model_validate(raw)
    except ValidationError as exc:
        field, message = _first_error(exc)
        field = field.replace("api_version", "apiVersion")
        raise InvalidEntityError(message, entity=label, field=field, location=location) from None
    kind = entity.kind.lower()
    known = KIND_SPECS.get(kind)
    if known is not None:
        spec_model, versions = known
        if entity.api_version not in versions:
            raise InvalidEntityError(
                f"apiVersion {entity.api_version!r} is not valid for kind {entity.kind}; "
                f"use one of {', '.join(sorted(versions))}",
                entity=label,
                field="apiVersion",
                location=location,
            )
        try:
            spec_model.model_validate(entity.spec)
        except ValidationError as exc:
            field, message = _first_error(exc, "spec.")
            raise InvalidEntityError(
                message, entity=label, field=field, location=location
            ) from None
    try:
        relations = derive_relations(entity)
    except InvalidRefError as exc:
        raise InvalidEntityError(
            exc.reason + f" (in {exc.ref!r})",
            entity=label,
            field=exc.field,
            location=location,
        ) from None
    _remember(entity, relations)
    return entity
