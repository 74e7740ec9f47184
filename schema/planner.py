"""Planning a page of entities: which relation fields its nodes ask for, so the store can
answer the page and those relations in one statement
(:meth:`graph.port.EntityReader.entity_page`) and the fields resolve from what it
attached, without loaders.

A page is planned when every field its ``edges { node { ... } }`` select (fragments
opened) is either a leaf (a scalar, read from the node's own stored entity) or a relation
field of :data:`RELATION_FIELDS` whose own selection holds only leaves. The entities at
the other end are read whole, or only their ref, kind, namespace and name (a light plan)
when the leaves asked of them are all in :data:`LIGHT_FIELDS`. Anything else (a relation
of a relation, ``relations { ... }``, ``links { ... }``, a field this table does not know)
returns None, and the page is read as before: listing, then batched loaders.

The page's own entities are read as summaries (no document: the store sends only columns
or properties, :class:`graph.port.StoredEntity`) when its nodes ask only for leaves of
:data:`SUMMARY_FIELDS` and relation fields (:func:`needs_document`); a page that plans no
relation is planned for that alone. A roll-up (``ownedEntities``) asks the same question
of its items. ``tests/schema/test_summaries.py`` compares generated selections with
summaries on and off.

The table maps each relation field, by the GraphQL type it is read on, to the walk its
resolver makes (``Entity.related_entity``/``related_entities`` in :mod:`schema.entity`):
the relation name, the kind of the other end, and whether the field is one entity (the
first in key order) or a list. ``tests/schema/test_planner.py`` runs every entry with the
planner on and off and compares the answers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

from graph.port import MAX_RELATED_PLANS, RelatedPlan

#: The interface's relation fields: read on any type.
INTERFACE_FIELDS: dict[str, tuple[str, str | None]] = {
    "owner": ("ownedBy", None),
    "dependsOn": ("dependsOn", None),
    "dependencyOf": ("dependencyOf", None),
}

#: Relation fields of the kind types: (type, field) -> (relation, kind of the other end).
RELATION_FIELDS: dict[tuple[str, str], tuple[str, str | None]] = {
    ("Component", "system"): ("partOf", "system"),
    ("Component", "subcomponentOf"): ("partOf", "component"),
    ("Component", "subcomponents"): ("hasPart", "component"),
    ("Component", "providesApis"): ("providesApi", "api"),
    ("Component", "consumesApis"): ("consumesApi", "api"),
    ("Component", "scaffoldedFrom"): ("scaffoldedFrom", "template"),
    ("Component", "pipelines"): ("builtBy", "pipeline"),
    ("Component", "resources"): ("dependsOn", "resource"),
    ("API", "system"): ("partOf", "system"),
    ("API", "providers"): ("apiProvidedBy", "component"),
    ("API", "consumers"): ("apiConsumedBy", "component"),
    ("Resource", "system"): ("partOf", "system"),
    ("Resource", "environments"): ("deployedTo", "environment"),
    ("System", "domain"): ("partOf", "domain"),
    ("System", "components"): ("hasPart", "component"),
    ("System", "apis"): ("hasPart", "api"),
    ("System", "resources"): ("hasPart", "resource"),
    ("Domain", "subdomainOf"): ("partOf", "domain"),
    ("Domain", "systems"): ("hasPart", "system"),
    ("Group", "parent"): ("childOf", "group"),
    ("Group", "children"): ("parentOf", "group"),
    ("Group", "members"): ("hasMember", "user"),
    ("Group", "ownerOf"): ("ownerOf", None),
    ("User", "memberOf"): ("memberOf", "group"),
    ("User", "ownerOf"): ("ownerOf", None),
}

#: Leaves a light plan answers: made of an entity's ref, kind, namespace and name only.
LIGHT_FIELDS = frozenset({"__typename", "id", "ref", "namespace", "name"})

#: Leaves a summary answers (:class:`graph.port.StoredEntity`: all but the document, and
#: the document's kind).
SUMMARY_FIELDS = LIGHT_FIELDS | {"kind", "source", "updatedAt", "error"}


@dataclass(frozen=True)
class PagePlan:
    """The relations to attach to a page (distinct walks, in the order first asked), and
    whether its entities may be read as summaries (:func:`needs_document`)."""

    plans: tuple[RelatedPlan, ...]
    summary: bool = False


def _fields(
    selections: Sequence[Selection], on: str | None = None
) -> Iterator[tuple[str | None, SelectedField]]:
    """(type condition, field) for each field among ``selections``, fragments opened."""
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield on, selection
        elif isinstance(selection, InlineFragment | FragmentSpread):
            yield from _fields(selection.selections, selection.type_condition or on)


def _walk(on: str | None, name: str) -> tuple[str, str | None] | None:
    if name in INTERFACE_FIELDS:
        return INTERFACE_FIELDS[name]
    if on is None or on == "Entity":
        return None
    return RELATION_FIELDS.get((on, name))


def _leaves(field: SelectedField) -> set[str] | None:
    """The names of the leaves ``field`` selects; None when one of them has a selection."""
    names = set()
    for _, sub in _fields(field.selections):
        if sub.selections:
            return None
        names.add(sub.name)
    return names


def needs_document(selected: Sequence[Selection]) -> bool:
    """Whether an entity selected as ``selected`` (the selection of an ``Entity`` field,
    fragments opened) reads its document: unless every field is a leaf of
    :data:`SUMMARY_FIELDS` or a relation field of the tables above (they read the other
    ends, through the page's plan or the loaders, by the entity's key)."""
    for on, field in _fields(selected):
        if field.selections:
            if _walk(on, field.name) is None:
                return True
        elif field.name not in SUMMARY_FIELDS:
            return True
    return False


def plan_page(selected: Sequence[Selection]) -> PagePlan | None:
    """The plan for the ``entities`` field selected as ``selected``; None when its nodes
    ask for something the planner does not know, or for neither a relation nor a summary
    (then the page is read as before)."""
    light: dict[tuple[str, str | None], bool] = {}
    summary = True
    for _, listing in _fields(selected):
        for _, edges in _fields(listing.selections):
            if edges.name != "edges":
                continue
            for _, node in _fields(edges.selections):
                if node.name != "node":
                    continue
                summary = summary and not needs_document(node.selections)
                for on, field in _fields(node.selections):
                    if not field.selections:
                        continue
                    walk = _walk(on, field.name)
                    leaves = _leaves(field)
                    if walk is None or leaves is None:
                        return None
                    light[walk] = light.get(walk, True) and leaves <= LIGHT_FIELDS
    if len(light) > MAX_RELATED_PLANS or not (light or summary):
        return None
    return PagePlan(
        tuple(RelatedPlan(type_, kind, is_light) for (type_, kind), is_light in light.items()),
        summary,
    )
