"""Rows and parameters: a stored row as a :class:`~graph.port.StoredEntity`, times as sortable
text, key lists as JSON arrays (for ``json_each``), and the search row id of a key.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from graph.fields import entity_field_rows
from graph.port import StoredEntity

#: The columns :func:`stored_entity` reads, over ``entities e``.
ENTITY_COLUMNS = "e.ref, e.kind, e.namespace, e.name, e.document, e.hash, e.source, e.run_id, e.updated_at, e.error"


def stored_entity(row: sqlite3.Row | tuple[Any, ...]) -> StoredEntity:
    return StoredEntity(
        ref=row[0],
        kind=row[1],
        namespace=row[2],
        name=row[3],
        document=orjson.loads(row[4]),
        hash=row[5],
        source=row[6],
        run_id=row[7],
        updated_at=datetime.fromisoformat(row[8]),
        error=row[9],
    )


def iso(moment: datetime) -> str:
    """A sortable UTC timestamp (fixed width, so text order is time order)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def search_id(key: str) -> int:
    """The search row id of an entity key: 63 bits of its SHA-256, so a row is found by id."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") >> 1


def json_list(values: Sequence[str]) -> str:
    return orjson.dumps(list(values)).decode()


def lookup_keys(keys: Sequence[str]) -> str:
    """A JSON array of lookup keys (refs lowercased), for ``json_each``."""
    return json_list([k.lower() for k in keys])


#: Inserts one row of ``entity_fields`` (key, path, value, original).
INSERT_FIELDS = "INSERT INTO entity_fields (key, path, value, original) VALUES (?, ?, ?, ?)"


def field_rows(
    key: str, name: str, namespace: str, document: dict[str, Any]
) -> list[tuple[str, str, str | None, str | None]]:
    """The ``entity_fields`` rows of an entity (Backstage's searchable pairs)."""
    return entity_field_rows(key, name, namespace, document)
