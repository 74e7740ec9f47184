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

import hashlib
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
_UID_PREFIX = UID_NAMESPACE.bytes


def entity_uid(key: str) -> str:
    """The uid of the entity with this key (lowercased ref): stable across runs. It is
    ``str(uuid.uuid5(UID_NAMESPACE, key.lower()))``, formatted without a UUID object (every
    entity of a first ingest asks for one)."""
    raw = bytearray(hashlib.sha1(_UID_PREFIX + key.lower().encode()).digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x50  # version 5
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


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


#: (path, value) -> original, in the order found: the fields of one entity
_Found = dict[tuple[str, str | None], str | None]


def _add(found: _Found, raw_path: str, original: str | None) -> None:
    """Add a pair (the first of the same path and value stays)."""
    path = raw_path.lower()
    if len(path) > MAX_PATH_LENGTH:
        return
    if original is None:
        value = None
    elif len(original) > MAX_VALUE_LENGTH:
        original = value = None
    else:
        value = original.lower()
    pair = (path, value)
    if pair not in found:
        found[pair] = original


def _visit_dict(found: _Found, prefix: str, current: dict[Any, Any]) -> None:
    """The fields below a mapping; strings, mappings and lists (most of a document) are
    taken here without a call of :func:`_visit` each."""
    for child, value in current.items():
        path = prefix + (child if child.__class__ is str else str(child))
        if path in _SKIPPED:
            continue
        kind = value.__class__
        if not path:  # an empty key at the root: no path of its own
            _visit(found, path, value)
        elif kind is str:
            _add(found, path, value)
        elif kind is dict:
            _visit_dict(found, f"{path}.", value)
        elif kind is list:
            _visit_list(found, path, value)
        else:
            _visit(found, path, value)


def _visit_list(found: _Found, path: str, items: list[Any] | tuple[Any, ...]) -> None:
    for item in items:
        if item.__class__ is str:
            _add(found, path, item)
            _add(found, f"{path}.{item}", "true")
        else:
            _visit(found, path, item)
            if isinstance(item, str):
                _add(found, f"{path}.{item}", "true")


def _visit(found: _Found, path: str, current: Any) -> None:
    if path in _SKIPPED:
        return
    if current is None or isinstance(current, _SCALARS):
        if path:
            _add(found, path, current if current.__class__ is str else _text(current))
        return
    if isinstance(current, list | tuple):
        if path:
            _visit_list(found, path, current)
        else:
            for item in current:
                _visit(found, path, item)
        return
    if isinstance(current, dict):
        _visit_dict(found, f"{path}." if path else "", current)


def _fields(key: str, name: str, namespace: str, document: dict[str, Any]) -> _Found:
    found: _Found = {}
    _add(found, "metadata.name", name)
    _add(found, "metadata.namespace", namespace)
    _add(found, "metadata.uid", entity_uid(key))
    _visit(found, "", document)
    return found


def entity_fields(key: str, name: str, namespace: str, document: dict[str, Any]) -> list[Field]:
    """The searchable fields of an entity (see the module docstring), each path/value once,
    in the order the document gives them."""
    return [Field(p, v, o) for (p, v), o in _fields(key, name, namespace, document).items()]


def entity_field_rows(
    key: str, name: str, namespace: str, document: dict[str, Any]
) -> list[tuple[str, str, str | None, str | None]]:
    """:func:`entity_fields` as rows (key, path, value, original). Every entity of a first
    ingest goes through here (a 100k catalog: ~2M pairs), so the walk adds each pair as it
    is found, with no intermediate list and no object per pair but the row kept."""
    return [(key, p, v, o) for (p, v), o in _fields(key, name, namespace, document).items()]
