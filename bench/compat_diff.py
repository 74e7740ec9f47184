"""Normalise two catalog API answers and list where they differ (pure; ``make compat``).

What must differ between two catalogs that read the same files is replaced by a
placeholder before comparing (:data:`NORMALISATIONS` says each in words):

- ``metadata.uid`` and ``metadata.etag``: made by each server;
- the location annotations (``backstage.io/managed-by-location``,
  ``backstage.io/managed-by-origin-location``, ``backstage.io/view-url``,
  ``backstage.io/edit-url``, ``backstage.io/source-location``,
  ``stagegraph.dev/source-path``) are removed: they name where and how each server read
  the file (Backstage a ``file:`` Location, Stagegraph a git source), so which of them an
  entity carries differs too;
- ``pageInfo.nextCursor`` / ``prevCursor``: opaque, each server's own (whether there is one
  is kept);
- an error's ``message`` and ``stack`` (the wording is each server's; ``name`` and the
  status code are compared);
- ``relations`` are compared as a set (a relation on one side only is one difference),
  facet values as a set too (sorted by value): neither API promises an order;
- lists of entities are matched by entity ref, so a missing entity is one difference,
  not a shift of every later one; when the request asks for an order, the order of the
  refs both sides returned is compared as one more value.

:func:`diff` walks two normalised values and returns one :class:`Difference` per path
where they disagree (a key or an entity on one side only, or unequal values).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

Json = Any

PLACEHOLDER = "<differs by design>"
VOLATILE_METADATA = ("uid", "etag")
LOCATION_ANNOTATIONS = (
    "backstage.io/managed-by-location",
    "backstage.io/managed-by-origin-location",
    "backstage.io/view-url",
    "backstage.io/edit-url",
    "backstage.io/source-location",
    "stagegraph.dev/source-path",
)
CURSORS = ("nextCursor", "prevCursor")
ERROR_TEXT = ("message", "stack")

NORMALISATIONS = (
    "metadata.uid and metadata.etag: each server makes its own",
    "annotations " + ", ".join(LOCATION_ANNOTATIONS) + ": removed (where and how each "
    "server read the file)",
    "pageInfo.nextCursor / prevCursor: opaque tokens (whether present is compared)",
    "error.message and error.stack: wording (error.name and the status code are compared)",
    "relations: compared as a set of (type, targetRef)",
    "facet values: compared as a set (sorted by value)",
    "entity lists: matched by entity ref; the order is compared as one value where the "
    "request asks for an order",
)


class Missing:
    """The side of a :class:`Difference` that has no value at that path."""

    def __repr__(self) -> str:
        return "(absent)"


MISSING = Missing()


@dataclass(frozen=True)
class Difference:
    path: str
    ours: Json
    theirs: Json

    def __str__(self) -> str:
        return f"{self.path}: stagegraph {_short(self.ours)} / backstage {_short(self.theirs)}"


def _short(value: Json, width: int = 160) -> str:
    text = repr(value) if isinstance(value, Missing) else _dumps(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _dumps(value: Json) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def entity_ref(value: Json) -> str | None:
    """``kind:namespace/name`` (lowercase) when ``value`` looks like an entity, else None."""
    if not isinstance(value, dict):
        return None
    metadata = value.get("metadata")
    if not isinstance(value.get("kind"), str) or not isinstance(metadata, dict):
        return None
    name = metadata.get("name")
    if not isinstance(name, str):
        return None
    namespace = metadata.get("namespace") or "default"
    return f"{value['kind']}:{namespace}/{name}".lower()


def entity_key(value: Json) -> str | None:
    """What matches an entity across two lists: its ref, or (for an answer cut down by
    ``fields`` to no kind) its ``metadata.namespace``/``name``."""
    ref = entity_ref(value)
    if ref is not None or not isinstance(value, dict):
        return ref
    metadata = value.get("metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("name"), str):
        return f"{metadata.get('namespace') or 'default'}/{metadata['name']}".lower()
    return None


def _entity(value: dict[str, Json]) -> dict[str, Json]:
    out = {key: normalise(item) for key, item in value.items()}
    metadata = out.get("metadata")
    if isinstance(metadata, dict):
        for key in VOLATILE_METADATA:
            if key in metadata:
                metadata[key] = PLACEHOLDER
        annotations = metadata.get("annotations")
        if isinstance(annotations, dict):
            for key in LOCATION_ANNOTATIONS:
                annotations.pop(key, None)
    relations = out.get("relations")
    if isinstance(relations, list) and all(_relation_key(r) for r in relations):
        out["relations"] = {_relation_key(r): r for r in relations}
    return out


def _relation_key(relation: Json) -> str | None:
    """``type targetRef`` for a relation (``{type, targetRef}``), else None."""
    if isinstance(relation, dict) and {"type", "targetRef"} <= set(relation):
        return f"{relation['type']} {str(relation['targetRef']).lower()}"
    return None


def _facets(value: dict[str, Json]) -> dict[str, Json]:
    return {
        name: sorted(values, key=lambda v: str(v.get("value")) if isinstance(v, dict) else "")
        if isinstance(values, list)
        else values
        for name, values in value.items()
    }


def normalise(value: Json) -> Json:
    """``value`` with what must differ replaced (see the module docstring)."""
    if isinstance(value, list):
        return [normalise(item) for item in value]
    if not isinstance(value, dict):
        return value
    if entity_key(value) is not None:
        return _entity(value)
    out: dict[str, Json] = {}
    for key, item in value.items():
        if key in CURSORS and isinstance(item, str):
            out[key] = PLACEHOLDER
        elif key == "facets" and isinstance(item, dict):
            out[key] = _facets(item)
        elif key == "error" and isinstance(item, dict):
            out[key] = {
                k: PLACEHOLDER if k in ERROR_TEXT else normalise(v) for k, v in item.items()
            }
        else:
            out[key] = normalise(item)
    return out


def _entity_list(values: list[Json]) -> list[str] | None:
    refs = [entity_key(v) for v in values]
    if not values or any(ref is None for ref in refs):
        return None
    return [ref for ref in refs if ref is not None]


def diff(ours: Json, theirs: Json, *, ordered: bool = True, path: str = "$") -> list[Difference]:
    """Every path where ``ours`` and ``theirs`` (both normalised) disagree."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        found: list[Difference] = []
        for key in sorted(set(ours) | set(theirs), key=str):
            where = f"{path}.{key}"
            where = f"{path}[{key}]" if " " in key else where
            if key not in ours:
                found.append(Difference(where, MISSING, theirs[key]))
            elif key not in theirs:
                found.append(Difference(where, ours[key], MISSING))
            else:
                found += diff(ours[key], theirs[key], ordered=ordered, path=where)
        return found
    if isinstance(ours, list) and isinstance(theirs, list):
        return _diff_lists(ours, theirs, ordered=ordered, path=path)
    if ours != theirs:
        return [Difference(path, ours, theirs)]
    return []


def _diff_lists(
    ours: list[Json], theirs: list[Json], *, ordered: bool, path: str
) -> list[Difference]:
    our_refs, their_refs = _entity_list(ours), _entity_list(theirs)
    if our_refs is None or their_refs is None:
        found: list[Difference] = []
        for index in range(max(len(ours), len(theirs))):
            where = f"{path}[{index}]"
            if index >= len(ours):
                found.append(Difference(where, MISSING, theirs[index]))
            elif index >= len(theirs):
                found.append(Difference(where, ours[index], MISSING))
            else:
                found += diff(ours[index], theirs[index], ordered=ordered, path=where)
        return found
    mine = dict(zip(our_refs, ours, strict=True))
    other = dict(zip(their_refs, theirs, strict=True))
    found = []
    for ref in sorted(set(mine) | set(other)):
        where = f"{path}[{ref}]"
        if ref not in mine:
            found.append(Difference(where, MISSING, "present"))
        elif ref not in other:
            found.append(Difference(where, "present", MISSING))
        else:
            found += diff(mine[ref], other[ref], ordered=ordered, path=where)
    if ordered:
        both = set(mine) & set(other)
        our_order = [ref for ref in our_refs if ref in both]
        their_order = [ref for ref in their_refs if ref in both]
        if our_order != their_order:
            found.append(Difference(f"{path}(order)", our_order, their_order))
    return found
