"""The answers of the scaffolder REST API, one handler per route of Backstage's spec.

Creating a task checks it at once: invalid values are a 400 ``{errors: [...]}`` listing every
problem, an unknown template a 404. Listing tasks takes Backstage's parameters: ``createdBy``
and ``status`` repeated for any of several, ``order=<asc|desc>:<field>`` (``created_at``,
``status``, ``created_by``) repeated for keys in turn, then newest first, with ``limit``
(default 100, at most 1000) and ``offset``; ``totalTasks`` counts every match. The event stream (SSE) sends each stored event as
``event: <type>`` with the ``SerializedTaskEvent`` as data, and ends after ``completion``,
as Backstage's front end expects. A dry run runs inline on the template and the files sent
in the request and answers with the rendered files (base64), the log and the output.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from api.auth import Principal
from api.catalog.errors import InputError, NotFoundError
from api.scaffolder.shapes import serialized_event, serialized_task, validation_errors
from graph.port import TASK_ORDER_FIELDS, GraphStore, TaskOrder
from scaffolder.actions.contract import Services
from scaffolder.actions.registry import ACTIONS
from scaffolder.errors import ParameterError, ScaffolderError
from scaffolder.run import RunResult, TaskSpec, run_task
from scaffolder.service import Scaffolder
from scaffolder.tasks import (
    UnknownTaskError,
    UnknownTemplateError,
    cancel_task,
    create_task,
    load_template,
    user_entity,
)
from scaffolder.template import Step, template_from_document
from scaffolder.workspace import safe_relative

#: How often the event stream looks for new events.
STREAM_POLL_SECONDS = 0.2


#: The statuses a task listing may ask for: Backstage's (no task here is ever ``skipped``).
TASK_STATUSES = ("open", "processing", "completed", "failed", "cancelled", "skipped")


def task_statuses(values: list[str]) -> list[str]:
    """The ``status`` parameters of a task listing, each one Backstage knows."""
    for value in values:
        if value not in TASK_STATUSES:
            raise InputError(
                f"Invalid status parameter {value!r}: use one of {', '.join(TASK_STATUSES)} "
                "(repeat status= for several)"
            )
    return values


def task_order(values: list[str]) -> list[TaskOrder]:
    """Backstage's ``order=<asc|desc>:<field>`` parameters, keys in turn."""
    keys = []
    for value in values:
        direction, _, name = value.partition(":")
        if direction not in ("asc", "desc") or not name:
            raise InputError(
                f'Invalid order parameter "{value}", expected "<asc or desc>:<field name>", '
                "e.g. desc:created_at"
            )
        field = next((f for f in TASK_ORDER_FIELDS if f == name), None)
        if field is None:
            raise InputError(
                f'Invalid order field "{name}": tasks are ordered by {", ".join(TASK_ORDER_FIELDS)}'
            )
        keys.append(TaskOrder(field, descending=direction == "desc"))
    return keys


def json_response(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise InputError(f"the body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise InputError("the body must be a JSON object")
    return body


class _DryRunLog:
    """A dry run's reporter: its log as Backstage's ``DryRunResult.log``."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    async def step_started(self, step: Step) -> None:
        body = {"message": f"Beginning step {step.name}", "stepId": step.id, "status": "processing"}
        self.entries.append({"body": body})

    async def step_ended(self, step: Step, status: str, error: str | None) -> None:
        body = {"message": f"Finished step {step.name}", "stepId": step.id, "status": status}
        self.entries.append({"body": body})

    async def log(self, step: Step | None, line: str) -> None:
        body: dict[str, Any] = {"message": line}
        if step is not None:
            body["stepId"] = step.id
        self.entries.append({"body": body})


def _write_sent_file(root: Path, item: Any) -> None:
    """One ``directoryContents`` entry of a dry run, written under ``root``."""
    path = item.get("path", "") if isinstance(item, dict) else ""
    try:
        relative = safe_relative(str(path), "a directoryContents path")
        data = base64.b64decode(str(item.get("base64Content", "")), validate=True)
    except ScaffolderError as exc:
        raise InputError(str(exc)) from None
    except binascii.Error:
        raise InputError(f"directoryContents {path!r}: base64Content is not base64") from None
    target = root / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


class Routes:
    """The handlers, over the store and the process's scaffolder."""

    def __init__(
        self,
        store: Callable[[], GraphStore],
        scaffolder: Callable[[], Scaffolder | None],
        principal: Callable[[Request], Principal],
    ) -> None:
        self._store, self._scaffolder, self._principal = store, scaffolder, principal

    async def create(self, request: Request) -> Response:
        body = await _json_body(request)
        ref, values, secrets = body.get("templateRef"), body.get("values"), body.get("secrets")
        if not isinstance(ref, str) or not isinstance(values, dict):
            raise InputError("the body needs templateRef (a string) and values (an object)")
        if secrets is not None and not isinstance(secrets, dict):
            raise InputError("secrets must be an object of name: value")
        who = self._principal(request).name
        scaffolder = self._scaffolder()
        try:
            if scaffolder is not None:
                task = await scaffolder.create(ref, values, secrets=secrets, created_by=who)
            else:
                task = await create_task(
                    self._store(), ref, values, secrets=secrets, created_by=who
                )
        except ParameterError as exc:
            return json_response(validation_errors(exc), 400)
        except UnknownTemplateError as exc:
            raise NotFoundError(str(exc)) from None
        except ScaffolderError as exc:
            raise InputError(str(exc)) from None
        return json_response({"id": task.id}, 201)

    async def list(self, request: Request) -> Response:
        params = request.query_params
        try:
            limit = int(params.get("limit") or 100)
            offset = int(params.get("offset") or 0)
        except ValueError:
            raise InputError("limit and offset must be integers") from None
        if not 0 <= limit <= 1000 or offset < 0:
            raise InputError("limit must be 0 to 1000 and offset at least 0")
        created_by = params.getlist("createdBy") or None
        status = task_statuses(params.getlist("status")) or None
        order = task_order(params.getlist("order"))
        store = self._store()
        found = await store.list_tasks(
            limit, created_by=created_by, status=status, order=order, offset=offset
        )
        total = await store.count_tasks(created_by=created_by, status=status)
        return json_response({"tasks": [serialized_task(t) for t in found], "totalTasks": total})

    async def _task(self, request: Request) -> Any:
        task_id = request.path_params["task_id"]
        found = (await self._store().get_tasks([task_id])).get(task_id)
        if found is None:
            raise NotFoundError(f"no task has the id {task_id!r}")
        return found

    async def get(self, request: Request) -> Response:
        return json_response(serialized_task(await self._task(request)))

    async def cancel(self, request: Request) -> Response:
        scaffolder = self._scaffolder()
        try:
            task = await (
                scaffolder.cancel(request.path_params["task_id"])
                if scaffolder
                else cancel_task(self._store(), request.path_params["task_id"])
            )
        except UnknownTaskError as exc:
            raise NotFoundError(str(exc)) from None
        return json_response({"status": task.status})

    def _after(self, request: Request) -> int:
        try:
            return int(request.query_params.get("after") or 0)
        except ValueError:
            raise InputError("after must be an event id (an integer)") from None

    async def events(self, request: Request) -> Response:
        task = await self._task(request)
        found = await self._store().get_task_events(task.id, self._after(request))
        return json_response([serialized_event(e) for e in found])

    async def eventstream(self, request: Request) -> Response:
        task = await self._task(request)
        after, store = self._after(request), self._store()

        async def stream() -> AsyncIterator[bytes]:
            seen = after
            while True:
                for event in await store.get_task_events(task.id, seen):
                    seen = event.seq
                    data = orjson.dumps(serialized_event(event)).decode()
                    yield f"event: {event.type}\ndata: {data}\n\n".encode()
                    if event.type == "completion":
                        return
                if await request.is_disconnected():
                    return
                await asyncio.sleep(STREAM_POLL_SECONDS)

        return StreamingResponse(
            stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )

    async def actions(self, request: Request) -> Response:
        return json_response([action.describe() for action in ACTIONS.values()])

    async def parameter_schema(self, request: Request) -> Response:
        p = request.path_params
        try:
            template = await load_template(
                self._store(), f"{p['kind']}:{p['namespace']}/{p['name']}"
            )
        except UnknownTemplateError as exc:
            raise NotFoundError(str(exc)) from None
        except ScaffolderError as exc:
            raise InputError(str(exc)) from None
        return json_response(template.parameter_schema())

    async def dry_run(self, request: Request) -> Response:
        body = await _json_body(request)
        document, values = body.get("template"), body.get("values")
        if not isinstance(document, dict) or not isinstance(values, dict):
            raise InputError("the body needs template (the Template entity) and values (an object)")
        secrets = body.get("secrets") or {}
        with tempfile.TemporaryDirectory(prefix="stagegraph-dry-run-") as folder:
            root = Path(folder)
            for item in body.get("directoryContents") or []:
                _write_sent_file(root, item)
            document = {
                **document,
                "metadata": {
                    **(document.get("metadata") or {}),
                    "annotations": {
                        "backstage.io/managed-by-location": f"file:{root / 'template.yaml'}"
                    },
                },
            }
            try:
                template = template_from_document("template:default/dry-run", document)
            except ScaffolderError as exc:
                raise InputError(str(exc)) from None
            dry_log = _DryRunLog()
            who = self._principal(request).name
            user = await user_entity(self._store(), who)
            result: RunResult = await run_task(
                TaskSpec("dry-run", template, values, secrets, who, True, user),
                dry_log,
                Services(),
            )
        if (
            result.status != "completed"
            and result.error
            and result.error.startswith("the values do not fit")
        ):
            raise InputError(result.error)
        return json_response(
            {
                "log": dry_log.entries,
                "directoryContents": [
                    {
                        "path": f["path"],
                        "executable": False,
                        "base64Content": base64.b64encode(f["content"].encode()).decode(),
                    }
                    for f in result.files
                ],
                "output": result.output,
                "steps": [
                    {
                        "id": s.id,
                        "name": s.name,
                        "action": s.action,
                        "input": result.step_inputs.get(s.id),
                    }
                    for s in template.steps
                ],
                **({"error": result.error} if result.error else {}),
            }
        )
