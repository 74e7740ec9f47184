"""One recorded change to one entity (issue 13's ``EntityChange``) and how it is worked out.

An ingestion or a push compares each entity document it writes (or deletes) with the stored
one; :func:`entity_change` turns that pair into an :class:`EntityChange` naming the changed
fields as dot paths (``spec.owner``, ``metadata.tags``), or ``None`` when nothing changed.
A whole added or removed section is named by its leaf paths; lists are compared whole: a reordered or edited list is one changed path.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class ChangeType(enum.StrEnum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    DELETED = "DELETED"


@dataclass(frozen=True)
class EntityChange:
    id: str
    at: datetime
    source: str
    run_id: str | None
    ref: str
    kind: str
    change: ChangeType
    fields: tuple[str, ...]
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    #: ``after`` as compact JSON text when the writer has it already (the entity's stored
    #: text): a change log may keep it as it is rather than serialise ``after`` again
    after_json: str | None = field(default=None, compare=False, repr=False)


def changed_fields(before: dict[str, Any], after: dict[str, Any], prefix: str = "") -> list[str]:
    """The dot paths whose values differ between two documents, sorted."""
    paths: list[str] = []
    for key in sorted(before.keys() | after.keys()):
        path = f"{prefix}{key}"
        old, new = before.get(key), after.get(key)
        if isinstance(old, dict) and key not in after:
            new = {}
        if isinstance(new, dict) and key not in before:
            old = {}
        if isinstance(old, dict) and isinstance(new, dict):
            paths.extend(changed_fields(old, new, f"{path}."))
        elif old != new or (key in before) != (key in after):
            paths.append(path)
    return paths


def _leaf_paths(document: dict[str, Any], prefix: str, paths: list[str]) -> list[str]:
    """What :func:`changed_fields` gives between ``{}`` and ``document`` (every leaf path,
    an empty section none), without comparing: a first ingest records one per entity."""
    for key in sorted(document):
        value = document[key]
        if isinstance(value, dict):
            _leaf_paths(value, f"{prefix}{key}.", paths)
        else:
            paths.append(f"{prefix}{key}")
    return paths


def entity_change(
    *,
    change_id: str,
    at: datetime,
    source: str,
    run_id: str | None,
    ref: str,
    kind: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    after_json: str | None = None,
) -> EntityChange | None:
    """The change from ``before`` to ``after`` (``None`` for absent), or ``None`` if equal;
    ``after_json``: ``after`` as JSON text, when known (kept on the change)."""
    if before is None and after is None:
        raise ValueError(
            f"entity_change for {ref}: both before and after are None; pass at least one"
        )
    if before is None:
        change, fields = ChangeType.CREATED, _leaf_paths(after or {}, "", [])
    elif after is None:
        change, fields = ChangeType.DELETED, _leaf_paths(before, "", [])
    else:
        fields = changed_fields(before, after)
        if not fields:
            return None
        change = ChangeType.UPDATED
    return EntityChange(
        id=change_id,
        at=at,
        source=source,
        run_id=run_id,
        ref=ref,
        kind=kind,
        change=change,
        fields=tuple(fields),
        before=before,
        after=after,
        after_json=after_json if after is not None else None,
    )
