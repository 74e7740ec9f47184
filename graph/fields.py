"""An entity's searchable fields as Backstage's catalog sees them, and its stable uid.

Backstage matches ``filter=<path>[=<value>]``, orders by ``orderField`` and counts facets
over a flattened form of each entity: a list of (path, value) pairs. This module computes
that form the same way, so both stores can keep it beside the entity when it is written:

- paths are the dot-joined keys from the root (``spec.owner``,
  ``metadata.annotations.backstage.io/managed-by-location``), lowercased; arrays add no
  path segment (``metadata.tags`` once per tag);
- a string item of an array also gives the path ``<array path>.<item>`` with the value
  ``true`` (``metadata.tags.java=true``), once per path whatever the case;
- a value is a string, number or boolean as text (``true``, ``7``), kept as written
  (``original``) and lowercased for matching (``value``); a null, or a value longer than
  :data:`MAX_VALUE_LENGTH`, leaves the path present with no value (it matches "exists");
- paths longer than :data:`MAX_PATH_LENGTH` are left out;
- ``relations``, ``status``, ``attachments`` and ``metadata.name``/``namespace``/``uid``/
  ``etag`` of the document are skipped: name, namespace and uid come from the entity's
  identity (the namespace is always present), relations from the relation store.

The uid is :func:`entity_uid`: a UUID derived from the entity's key, so it is stable across
runs and stores and needs no column of its own to look up (it is one of the fields).
"""

from __future__ import annotations

import uuid
from typing import Any, NamedTuple

MAX_PATH_LENGTH = 200
MAX_VALUE_LENGTH = 200
_SKIPPED = frozenset(
    {
        "attachments",
        "relations",
        "status",
        "metadata.name",
        "metadata.namespace",
        "metadata.uid",
        "metadata.etag",
    }
)
#: The namespace of entity uids (uuid5 of the entity key in it).
UID_NAMESPACE = uuid.UUID("6c0f3e52-7b35-5a8c-9d4e-5b7a0c1e2d3f")


def entity_uid(key: str) -> str:
    """The uid of the entity with this key (lowercased ref): stable across runs."""
    return str(uuid.uuid5(UID_NAMESPACE, key.lower()))


class Field(NamedTuple):
    """One searchable pair: ``path`` (lowercase), ``value`` (lowercase, or None when the
    path is present without a usable value) and ``original`` (the value as written)."""

    path: str
    value: str | None
    original: str | None


_SCALARS = (str, int, float, bool)


def _text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    if isinstance(value, str):
        return value
    return None


def entity_fields(key: str, name: str, namespace: str, document: dict[str, Any]) -> list[Field]:
    """The searchable fields of an entity (see the module docstring), each path/value once,
    in the order the document gives them.

    Every entity of a first ingest goes through here (a 100k catalog: ~3M pairs), so it adds
    each pair as it is found, with no intermediate list and no per-pair object but the
    field kept."""
    found: dict[tuple[str, str | None], Field] = {}

    def add(raw_path: str, raw_value: Any) -> None:
        path = raw_path.lower()
        if len(path) > MAX_PATH_LENGTH:
            return
        original = raw_value if raw_value.__class__ is str else _text(raw_value)
        if original is None:
            value = None
        elif len(original) > MAX_VALUE_LENGTH:
            original = value = None
        else:
            value = original.lower()
        pair = (path, value)
        if pair not in found:
            found[pair] = Field(path, value, original)

    def visit(path: str, current: Any) -> None:
        if path in _SKIPPED:
            return
        if current is None or isinstance(current, _SCALARS):
            if path:
                add(path, current)
            return
        if isinstance(current, list | tuple):
            for item in current:
                visit(path, item)
                if path and isinstance(item, str):
                    add(f"{path}.{item}", True)
            return
        if isinstance(current, dict):
            prefix = f"{path}." if path else ""
            for child, value in current.items():
                visit(prefix + (child if child.__class__ is str else str(child)), value)

    add("metadata.name", name)
    add("metadata.namespace", namespace)
    add("metadata.uid", entity_uid(key))
    visit("", document)
    return list(found.values())
