"""What the sources that apply webhook payloads directly share (:mod:`ingestors.github.events`,
:mod:`ingestors.gitlab.events`): reading the recorded bodies, and keeping a delivery that
arrives late from undoing a newer state.

Senders do not promise order: a ``workflow_run`` ``in_progress`` delivery may land after
the ``completed`` one, in a later batch. A Build or Deployment already stored in a final
state (a completed build; a deployment that succeeded, failed, errored, was cancelled or
made inactive) is not taken back to a state before it (:func:`drop_regressions`). Within one
batch the sources keep the newest delivery of each entity themselves.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from ingestors.errors import SourceUnavailableError
from ingestors.snapshot import Snapshot

StoredDocuments = Callable[[list[str]], Awaitable[Mapping[str, Mapping[str, Any]]]]
"""Reads the stored documents of some keys (absent ones left out)."""

FINAL_DEPLOYMENT_STATES = frozenset({"success", "failure", "error", "inactive", "cancelled"})


def parse_payloads(texts: Sequence[str]) -> list[dict[str, Any]]:
    """Recorded delivery bodies (JSON objects) as payloads; a corrupt one is a
    :class:`~ingestors.errors.SourceUnavailableError` (the run fails, saying so)."""
    try:
        payloads = [json.loads(text) for text in texts]
    except ValueError as exc:
        raise SourceUnavailableError("webhook deliveries", f"unreadable payload: {exc}") from exc
    if not all(isinstance(p, dict) for p in payloads):
        raise SourceUnavailableError("webhook deliveries", "a payload is not a JSON object")
    return payloads


def _final(kind: str, status: object) -> bool:
    if kind == "build":
        return status == "completed"
    return kind == "deployment" and status in FINAL_DEPLOYMENT_STATES


def drop_regressions(snapshot: Snapshot, stored: Mapping[str, Mapping[str, Any]]) -> None:
    """Take out of ``snapshot`` the entities whose ``stored`` document (by key) is in a final
    state theirs is not, each noted in ``skipped``."""
    kept = []
    for descriptor in snapshot.descriptors:
        entity = descriptor.entity
        kind = entity.kind.lower()
        before = (stored.get(entity.ref.key) or {}).get("spec") or {}
        now = entity.spec.get("status")
        if _final(kind, before.get("status")) and not _final(kind, now):
            snapshot.skipped.append(
                f"{entity.ref}: a late delivery ({now}) after the stored {before.get('status')}"
            )
            continue
        kept.append(descriptor)
    snapshot.descriptors = kept


async def newest_only(snapshot: Snapshot, read: StoredDocuments) -> Snapshot:
    """:func:`drop_regressions` against the stored documents ``read(keys)`` returns."""
    stored = await read([d.entity.ref.key for d in snapshot.descriptors])
    drop_regressions(snapshot, stored)
    return snapshot
