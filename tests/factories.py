"""Small builders for test data."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from catalog.refs import parse_ref
from graph.port import EntityRecord, RelationRecord


def record(ref: str, **fields: Any) -> EntityRecord:
    """An entity record for ``ref`` with an optional title, description, tags and spec."""
    parsed = parse_ref(ref)
    document = {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": parsed.kind.capitalize(),
        "metadata": {
            "name": parsed.name,
            "namespace": parsed.namespace,
            **{
                k: v
                for k, v in fields.items()
                if k in ("title", "description", "tags", "annotations")
            },
        },
        "spec": fields.get("spec", {}),
    }
    digest = hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return EntityRecord(
        ref=str(parsed),
        kind=parsed.kind,
        namespace=parsed.namespace,
        name=parsed.name,
        document=document,
        hash=digest,
        title=fields.get("title"),
        description=fields.get("description"),
        tags=tuple(fields.get("tags", ())),
    )


def rel(source: str, type_: str, target: str) -> RelationRecord:
    return RelationRecord(source, type_, target)
