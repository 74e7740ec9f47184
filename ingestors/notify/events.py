"""What an outgoing webhook POSTs, pure: the body of each event and its headers.

- ``entity.changed``: one recorded entity change, shaped as GraphQL's ``EntityChange``
  (``id at source runId ref kind change fields before after``);
- ``run.finished``: one finished ingestion run, shaped as GraphQL's ``IngestionRun``
  (``id source status trigger scope startedAt finishedAt counts errors``).

Headers, in GitHub's form: ``X-Stagegraph-Event`` (the event name),
``X-Stagegraph-Delivery`` (a UUID that is the same for every attempt to deliver one event to
one receiver, also after a restart: receivers deduplicate on it) and
``X-Stagegraph-Signature-256: sha256=<hex>``, the HMAC-SHA256 of the exact body bytes with
the receiver's secret.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from catalog.changes import EntityChange
from graph.port import RunRecord
from ingestors.notify.config import NotifyEvent

EVENT_HEADER = "X-Stagegraph-Event"
DELIVERY_HEADER = "X-Stagegraph-Delivery"
SIGNATURE_HEADER = "X-Stagegraph-Signature-256"
USER_AGENT = "Stagegraph-Notify/1"


@dataclass(frozen=True)
class Event:
    """One event to deliver: its name, the id of what it is about, and its JSON body."""

    name: NotifyEvent
    id: str
    body: bytes


def change_event(change: EntityChange) -> Event:
    document: dict[str, Any] = {
        "id": change.id,
        "at": change.at.isoformat(),
        "source": change.source,
        "runId": change.run_id,
        "ref": change.ref,
        "kind": change.kind,
        "change": change.change.value,
        "fields": list(change.fields),
        "before": change.before,
        "after": change.after,
    }
    return Event("entity.changed", change.id, orjson.dumps(document))


def run_event(run: RunRecord) -> Event:
    document: dict[str, Any] = {
        "id": run.id,
        "source": run.source,
        "status": run.status,
        "trigger": run.trigger,
        "scope": run.scope,
        "startedAt": run.started_at.isoformat(),
        "finishedAt": run.finished_at.isoformat() if run.finished_at else None,
        "counts": [
            {
                "kind": c.kind,
                "added": c.added,
                "updated": c.updated,
                "unchanged": c.unchanged,
                "deleted": c.deleted,
            }
            for c in run.counts
        ],
        "errors": [{"message": e.message, "file": e.file, "entity": e.entity} for e in run.errors],
    }
    return Event("run.finished", run.id, orjson.dumps(document))


def signature(secret: str, body: bytes) -> str:
    """``sha256=<hex>``: the HMAC-SHA256 of ``body`` with ``secret``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def delivery_id(url: str, event: Event) -> str:
    """The same UUID for every attempt to deliver ``event`` to ``url``."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{url}#{event.name}/{event.id}"))


def headers(url: str, secret: str, event: Event) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_HEADER: event.name,
        DELIVERY_HEADER: delivery_id(url, event),
        SIGNATURE_HEADER: signature(secret, event.body),
    }
