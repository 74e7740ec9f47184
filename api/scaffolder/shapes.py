"""Tasks, events and validation problems in the JSON shapes of Backstage's scaffolder
OpenAPI spec (``SerializedTask``, ``SerializedTaskEvent``, ``ValidationError``)."""

from __future__ import annotations

from typing import Any

from graph.port import TaskEvent, TaskRecord
from scaffolder.errors import ParameterError


def _iso(task: TaskRecord) -> str:
    return task.created_at.isoformat().replace("+00:00", "Z")


def serialized_task(task: TaskRecord) -> dict[str, Any]:
    """``SerializedTask``: the spec carries the template ref, the steps and the values."""
    return {
        "id": task.id,
        "spec": {
            "apiVersion": "scaffolder.backstage.io/v1beta3",
            "templateInfo": {"entityRef": task.template},
            "parameters": task.values,
            "steps": [{"id": s.id, "name": s.name, "action": s.action} for s in task.steps],
            "output": task.output,
            "user": {"ref": task.created_by},
        },
        "status": task.status,
        "createdAt": _iso(task),
        "lastHeartbeatAt": task.lease_until.isoformat() if task.lease_until else None,
        "createdBy": task.created_by,
        "state": {
            "steps": {
                s.id: {
                    "status": s.status,
                    "startedAt": s.started_at.isoformat() if s.started_at else None,
                    "endedAt": s.ended_at.isoformat() if s.ended_at else None,
                }
                for s in task.steps
            },
            **({"error": task.error} if task.error else {}),
        },
    }


def serialized_event(event: TaskEvent) -> dict[str, Any]:
    """``SerializedTaskEvent``; a completion's body carries the task's output."""
    return {
        "id": event.seq,
        "taskId": event.task_id,
        "body": event.body,
        "type": event.type,
        "createdAt": event.at.isoformat().replace("+00:00", "Z"),
    }


def validation_errors(error: ParameterError) -> dict[str, Any]:
    """A 400 body ``{errors: [ValidationError]}``, one per problem."""
    return {
        "errors": [
            {
                "path": field.split(".") if field != "(values)" else [],
                "property": f"instance.{field}",
                "message": message,
                "schema": {},
                "instance": {},
                "name": "validation",
                "argument": field,
                "stack": f"instance.{field} {message}",
            }
            for field, message in error.problems
        ]
    }
