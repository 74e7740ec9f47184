"""Relations derived from spec fields, with Backstage's names.

Each relation is stored once, in its forward direction (``ownedBy``, ``dependsOn``, ...);
the inverse (``ownerOf``, ``dependencyOf``, ...) is derived when reading. Fields that
describe the inverse side (a Group's ``children``, a Component's ``dependencyOf``) produce
the forward relation with source and target swapped, so both sides of a pair agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from catalog.entity import Entity
from catalog.errors import InvalidRefError
from catalog.refs import EntityRef, parse_ref

#: forward type -> inverse type (names fixed by DESIGN.md)
RELATION_TYPES: dict[str, str] = {
    "ownedBy": "ownerOf",
    "dependsOn": "dependencyOf",
    "providesApi": "apiProvidedBy",
    "consumesApi": "apiConsumedBy",
    "partOf": "hasPart",
    "memberOf": "hasMember",
    "childOf": "parentOf",
    "scaffoldedFrom": "scaffolderOf",
    "builtBy": "builds",
    "runOf": "hasRun",
    "deploys": "deployedBy",
    "deployedTo": "hosts",
}
INVERSE_TYPES: dict[str, str] = {inverse: forward for forward, inverse in RELATION_TYPES.items()}
ALL_TYPES: frozenset[str] = frozenset(RELATION_TYPES) | frozenset(INVERSE_TYPES)

SOURCE_TEMPLATE_ANNOTATION = "backstage.io/source-template"


@dataclass(frozen=True, order=True)
class Relation:
    """A forward relation: ``source`` --type--> ``target``."""

    source: EntityRef
    type: str
    target: EntityRef


def normalize_type(name: str) -> tuple[str, bool]:
    """Return (forward type, is_inverse) for a forward or inverse relation name."""
    if name in RELATION_TYPES:
        return name, False
    if name in INVERSE_TYPES:
        return INVERSE_TYPES[name], True
    raise ValueError(f"unknown relation type {name!r}; known: {', '.join(sorted(ALL_TYPES))}")


# (spec field, default kind of the target, forward type, True when the entity is the target)
_FIELD_RULES: dict[str, tuple[tuple[str, str | None, str, bool], ...]] = {
    "component": (
        ("owner", "group", "ownedBy", False),
        ("system", "system", "partOf", False),
        ("subcomponentOf", "component", "partOf", False),
        ("providesApis", "api", "providesApi", False),
        ("consumesApis", "api", "consumesApi", False),
        ("dependsOn", None, "dependsOn", False),
        ("dependencyOf", None, "dependsOn", True),
    ),
    "api": (
        ("owner", "group", "ownedBy", False),
        ("system", "system", "partOf", False),
    ),
    "resource": (
        ("owner", "group", "ownedBy", False),
        ("system", "system", "partOf", False),
        ("account", "cloudaccount", "partOf", False),
        ("environment", "environment", "deployedTo", False),
        ("dependsOn", None, "dependsOn", False),
        ("dependencyOf", None, "dependsOn", True),
    ),
    "system": (
        ("owner", "group", "ownedBy", False),
        ("domain", "domain", "partOf", False),
    ),
    "domain": (
        ("owner", "group", "ownedBy", False),
        ("subdomainOf", "domain", "partOf", False),
    ),
    "group": (
        ("parent", "group", "childOf", False),
        ("children", "group", "childOf", True),
        ("members", "user", "memberOf", True),
    ),
    "user": (("memberOf", "group", "memberOf", False),),
    "template": (("owner", "group", "ownedBy", False),),
    "pipeline": (
        ("owner", "group", "ownedBy", False),
        ("system", "system", "partOf", False),
        ("components", "component", "builtBy", True),
    ),
    "build": (("pipeline", "pipeline", "runOf", False),),
    "deployment": (
        ("component", "component", "deploys", False),
        ("environment", "environment", "deployedTo", False),
    ),
    "environment": (
        ("owner", "group", "ownedBy", False),
        ("components", "component", "deployedTo", True),
    ),
    "cloudaccount": (("owner", "group", "ownedBy", False),),
}


def _values(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def derive_relations(entity: Entity) -> list[Relation]:
    """All forward relations an entity's own fields declare, deduplicated, in a stable order.

    Raises :class:`InvalidRefError` (with ``field`` set) for a ref that cannot be parsed.
    """
    me = entity.ref
    namespace = entity.metadata.namespace
    found: dict[Relation, None] = {}
    for field, default_kind, rel_type, reverse in _FIELD_RULES.get(me.kind, ()):
        for index, value in enumerate(_values(entity.spec.get(field))):
            where = (
                f"spec.{field}"
                if not isinstance(entity.spec.get(field), list)
                else (f"spec.{field}[{index}]")
            )
            if not isinstance(value, str):
                raise InvalidRefError(str(value), "a ref must be a string", field=where)
            try:
                target = parse_ref(value, default_kind=default_kind, default_namespace=namespace)
            except InvalidRefError as exc:
                raise InvalidRefError(exc.ref, exc.reason, field=where) from None
            relation = Relation(target, rel_type, me) if reverse else Relation(me, rel_type, target)
            found[relation] = None
    template = entity.metadata.annotations.get(SOURCE_TEMPLATE_ANNOTATION)
    if template:
        where = f"metadata.annotations[{SOURCE_TEMPLATE_ANNOTATION}]"
        try:
            target = parse_ref(template, default_kind="template", default_namespace=namespace)
        except InvalidRefError as exc:
            raise InvalidRefError(exc.ref, exc.reason, field=where) from None
        found[Relation(me, "scaffoldedFrom", target)] = None
    return list(found)
