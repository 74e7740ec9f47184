"""Rows and parameters: an entity as the properties it is written with, what the Cypher reads
of an entity and how that becomes a :class:`~graph.port.StoredEntity`, stored times, lookup
keys and annotation pairs (kept as joined lists: :mod:`graph.neo4j.schema`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, LiteralString, cast

import orjson
from neo4j.time import DateTime as Neo4jDateTime

from graph.conditions import PAIR_SEPARATOR
from graph.fields import entity_fields
from graph.neo4j import fulltext
from graph.neo4j.schema import FACET_PROPERTIES, joined, kind_labels
from graph.port import SOURCE_PATH_ANNOTATION, EntityRecord, StoredEntity

# ``updated_at`` as microseconds since the epoch: the driver turns a DateTime into Python
# objects slowly enough to triple the time of reading a few hundred entities.
ENTITY_FIELDS: LiteralString = (
    "e {.ref, .kind, .namespace, .name, .document, .hash, .source, .run_id, .error, "
    "updated_at: e.updated_at.epochSeconds * 1000000 + e.updated_at.microsecond}"
)

#: What :func:`summary_entity` reads, as a list (the driver decodes no key names): the
#: fields of :data:`ENTITY_FIELDS` but the document, and the kind as written
#: (``facet_kind``, kept from the document); the document only where that is not the
#: kind's spelling (missing, or not a string): the summary takes the kind from there.
SUMMARY_FIELDS: LiteralString = (
    "[e.ref, e.kind, e.namespace, e.name, e.facet_kind, "
    "CASE WHEN toLower(e.facet_kind) = e.kind THEN null ELSE e.document END, "
    "e.hash, e.source, e.run_id, e.error, "
    "e.updated_at.epochSeconds * 1000000 + e.updated_at.microsecond]"
)

# Reads return their rows collected into one (``collect``): the async driver pays for each

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def stored_time(value: Any) -> datetime:
    """A stored time: a DateTime, or microseconds since the epoch (how entities read it)."""
    if isinstance(value, int):
        return _EPOCH + timedelta(microseconds=value)
    return value.to_native() if isinstance(value, Neo4jDateTime) else cast(datetime, value)


def stored_entity(e: Mapping[str, Any]) -> StoredEntity:
    return StoredEntity(
        ref=e["ref"],
        kind=e["kind"],
        namespace=e["namespace"],
        name=e["name"],
        document=orjson.loads(e["document"]),
        hash=e["hash"],
        source=e["source"],
        run_id=e["run_id"],
        updated_at=stored_time(e["updated_at"]),
        error=e["error"],
    )


def summary_entity(e: Sequence[Any]) -> StoredEntity:
    """A summary (see :class:`~graph.port.StoredEntity`) read as :data:`SUMMARY_FIELDS`."""
    ref, kind, namespace, name, written_kind, document, hash_, source, run_id, error, at = e
    return StoredEntity(
        ref,
        kind,
        namespace,
        name,
        {"kind": written_kind} if document is None else _kind_of(document),
        hash_,
        source,
        run_id,
        stored_time(at),
        error,
    )


def _kind_of(document: str) -> dict[str, Any]:
    decoded = orjson.loads(document)
    return {"kind": decoded["kind"]} if "kind" in decoded else {}


def annotation_pair(key: str, value: Any) -> str:
    """How an annotation is stored for exact matching: the JSON array ``[key, value]``
    (unambiguous whatever the key and value contain)."""
    return orjson.dumps([key, value]).decode()


def annotation_props(document: Mapping[str, Any]) -> dict[str, Any]:
    """``source_path`` (the source-path annotation) and ``annotation_pairs``: each
    annotation as :func:`annotation_pair`, joined (:func:`joined`)."""
    metadata = document.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    annotations = annotations if isinstance(annotations, dict) else {}
    return {
        "source_path": _text(annotations.get(SOURCE_PATH_ANNOTATION)),
        "annotation_pairs": joined(annotation_pair(k, v) for k, v in annotations.items()),
    }


def lookup_keys(keys: Sequence[str]) -> list[str]:
    """Keys as parameters: lowercased, each once."""
    return list(dict.fromkeys(k.lower() for k in keys))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def entity_row(r: EntityRecord) -> dict[str, Any]:
    """What an entity is written as: its key, its labels, and its properties."""
    spec = r.document.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    return {
        "key": r.key,
        "labels": kind_labels(r.kind),
        "props": {
            "ref": r.ref,
            "kind": r.kind,
            "namespace": r.namespace,
            "name": r.name,
            "title": r.title,
            "description": r.description,
            "tags": list(r.tags),
            "tags_text": " ".join(r.tags),
            "document": orjson.dumps(r.document).decode(),
            "hash": r.hash,
            "spec_type": _text(spec.get("type")),
            "lifecycle": _text(spec.get("lifecycle")),
            **searchable_props(r.key, r.name, r.namespace, r.document),
        },
    }


def searchable_props(
    key: str, name: str, namespace: str, document: dict[str, Any]
) -> dict[str, Any]:
    """What filters and facets read of an entity besides its columns, all derived from its
    document: :func:`field_props` and :func:`annotation_props` (setup backfills them)."""
    return {**field_props(key, name, namespace, document), **annotation_props(document)}


def field_props(key: str, name: str, namespace: str, document: dict[str, Any]) -> dict[str, Any]:
    """Backstage's searchable fields (:mod:`graph.fields`) as three joined lists
    (:func:`joined`): ``field_keys`` (every path), ``field_lpairs`` (``path<SEP>value``
    lowercased, for matching) and ``field_pairs`` (``path<SEP>value`` as written, for
    facets); and the indexed facet properties (:func:`facet_props`) and the full-text
    filter's (:func:`graph.neo4j.fulltext.text_props`)."""
    fields = entity_fields(key, name, namespace, document)
    pairs = list(dict.fromkeys((f.path, f.original) for f in fields if f.original is not None))
    lpairs = [f.path + PAIR_SEPARATOR + f.value for f in fields if f.value is not None]
    return {
        "field_keys": joined(dict.fromkeys(f.path for f in fields)),
        "field_lpairs": joined(lpairs),
        "field_pairs": joined(path + PAIR_SEPARATOR + original for path, original in pairs),
        **facet_props(pairs),
        **fulltext.text_props(lpairs),
    }


def facet_props(pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """The value as written of each path of :data:`~graph.neo4j.schema.FACET_PROPERTIES`
    in its own indexed property, for facets read from the index; None where the entity has
    no value or several (then ``facet_multi`` is true, and those paths are counted from
    ``field_pairs``). ``facet_multi`` is always written: it marks entities that have them."""
    values: dict[str, list[str]] = {}
    for path, original in pairs:
        if path in FACET_PROPERTIES:
            values.setdefault(path, []).append(original)
    props: dict[str, Any] = {"facet_multi": False}
    for path, prop in FACET_PROPERTIES.items():
        found = values.get(path, [])
        props[prop] = found[0] if len(found) == 1 else None
        if len(found) > 1:
            props["facet_multi"] = True
    return props
