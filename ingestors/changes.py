"""What an ingestion run or a push records in the change log (issue 13's change history).

A writer knows, before it writes, which entities are new and which changed (the stored
content hash differs): only for the changed ones does it need the stored documents, read in
one batched call (:func:`read_before`). :func:`written_changes` turns the records it writes
into :class:`~catalog.changes.EntityChange` values (``CREATED`` with no ``before``,
``UPDATED`` with the changed dot paths; an entity whose document is the same records
nothing), :func:`deleted_changes` the entities it deletes; the writer records each batch
with one :meth:`~graph.port.ChangeLog.record_changes` call.

An unchanged file taken as it was, or an entity kept with its error, is no change.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from catalog.changes import ChangeType, EntityChange, entity_change
from graph.port import EntityReader, EntityRecord, StoredEntity
from ingestors.records import VOLATILE_ANNOTATIONS

#: The dot paths of the annotations that change with every commit: an update names them
#: only when something else changed too (they are no change of their own).
VOLATILE_PATHS = frozenset(f"metadata.annotations.{name}" for name in VOLATILE_ANNOTATIONS)


def new_change_id() -> str:
    """A fresh change id (``ch-`` and 20 hex digits); the store keeps recording order."""
    return f"ch-{os.urandom(10).hex()}"


async def read_before(store: EntityReader, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The stored documents of ``keys`` (absent ones left out), in one store call."""
    if not keys:
        return {}
    found = await store.get_entities(keys)
    return {key: entity.document for key, entity in found.items()}


def written_changes(
    *,
    source: str,
    run_id: str | None,
    records: Iterable[EntityRecord],
    before: Mapping[str, dict[str, Any] | None],
    at: datetime | None = None,
) -> list[EntityChange]:
    """The changes writing ``records`` makes: ``before`` maps a record's key to its stored
    document (``None`` or absent: the entity is new). Records whose document is unchanged,
    or changed only in its volatile annotations (:data:`VOLATILE_PATHS`), give nothing;
    an update's ``fields`` leave those annotations out."""
    when = at or datetime.now(UTC)
    changes: list[EntityChange] = []
    for record in records:
        change = entity_change(
            change_id=new_change_id(),
            at=when,
            source=source,
            run_id=run_id,
            ref=record.key,
            kind=record.kind,
            before=before.get(record.key),
            after=record.document,
            after_json=record.document_json,
        )
        if change is not None and change.change is ChangeType.UPDATED:
            fields = tuple(f for f in change.fields if f not in VOLATILE_PATHS)
            change = replace(change, fields=fields) if fields else None
        if change is not None:
            changes.append(change)
    return changes


def deleted_changes(
    *,
    source: str,
    run_id: str | None,
    entities: Iterable[StoredEntity],
    at: datetime | None = None,
) -> list[EntityChange]:
    """A ``DELETED`` change for each of ``entities`` (as they were stored)."""
    when = at or datetime.now(UTC)
    changes: list[EntityChange] = []
    for entity in entities:
        change = entity_change(
            change_id=new_change_id(),
            at=when,
            source=source,
            run_id=run_id,
            ref=entity.key,
            kind=entity.kind,
            before=entity.document,
            after=None,
        )
        if change is not None:
            changes.append(change)
    return changes
