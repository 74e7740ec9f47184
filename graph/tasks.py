"""Scaffolder task records and events to and from JSON, shared by the adapters (both keep a
task as one document beside the columns or properties they filter on)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson

from graph.port import TaskEvent, TaskOrder, TaskRecord, TaskStep


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def task_to_json(task: TaskRecord) -> str:
    data: dict[str, Any] = dict(task.__dict__)
    data["created_at"] = task.created_at.isoformat()
    data["lease_until"] = _time(task.lease_until)
    data["ended_at"] = _time(task.ended_at)
    data["steps"] = [
        {**step.__dict__, "started_at": _time(step.started_at), "ended_at": _time(step.ended_at)}
        for step in task.steps
    ]
    return orjson.dumps(data).decode()


def task_from_json(text: str | bytes) -> TaskRecord:
    data: dict[str, Any] = orjson.loads(text)
    data["created_at"] = datetime.fromisoformat(data["created_at"])
    data["lease_until"] = _parse(data.get("lease_until"))
    data["ended_at"] = _parse(data.get("ended_at"))
    data["steps"] = [
        TaskStep(
            **{
                **step,
                "started_at": _parse(step.get("started_at")),
                "ended_at": _parse(step.get("ended_at")),
            }
        )
        for step in data.get("steps", [])
    ]
    return TaskRecord(**data)


#: The fields whose stored column (SQLite) or property (Neo4j) is authoritative: the
#: statements that claim, renew, fail and cancel tasks change only these.
STATE_FIELDS = (
    "status",
    "owner",
    "lease_until",
    "pinned_to",
    "cancel_requested",
    "error",
    "ended_at",
)


def task_with_state(document: str | bytes, state: dict[str, Any]) -> TaskRecord:
    """The task of a stored document, with the state fields as stored beside it."""
    task = task_from_json(document)
    for name in STATE_FIELDS:
        value = state.get(name)
        if name in ("lease_until", "ended_at") and isinstance(value, str):
            value = datetime.fromisoformat(value)
        elif (
            name in ("lease_until", "ended_at")
            and value is not None
            and not isinstance(value, datetime)
        ):
            value = value.to_native()  # a Neo4j DateTime
        if name == "cancel_requested":
            value = bool(value)
        setattr(task, name, value)
    return task


def event_to_json(event: TaskEvent) -> str:
    return orjson.dumps(
        {"type": event.type, "at": event.at.isoformat(), "body": event.body}
    ).decode()


def event_from_json(task_id: str, seq: int, text: str | bytes) -> TaskEvent:
    data: dict[str, Any] = orjson.loads(text)
    return TaskEvent(task_id, seq, datetime.fromisoformat(data["at"]), data["type"], data["body"])


def any_of(value: str | Sequence[str] | None) -> list[str] | None:
    """A listing filter as the adapters bind it: None (any value) or the values to match."""
    if value is None:
        return None
    return [value] if isinstance(value, str) else list(value)


def check_paging(after: str | None, order: Sequence[TaskOrder], backward: bool = False) -> None:
    """``after`` and ``backward`` are a keyset over the default order: they cannot page
    another order."""
    if (after is not None or backward) and order:
        raise ValueError("a task listing with an order pages with offset, not after or before")
