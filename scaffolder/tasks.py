"""Creating and cancelling tasks, and reading a template from the catalog.

:func:`create_task` checks the values against the template's parameters and every step's
action before the task is stored (so a bad request is refused at once, with every problem),
then stores it ``open`` for a scheduler to claim. Secrets are never stored: they stay in this
process's :class:`SecretVault`, and the task is pinned to this process's scheduler
(``pinned_to``), the only one that can run it with them. A dry run is a task too.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from catalog.errors import CatalogError
from catalog.refs import parse_ref
from graph.port import EntityReader, TaskRecord, Tasks, TaskStep
from scaffolder.actions.registry import ACTIONS, Actions
from scaffolder.errors import ScaffolderError, TemplateError
from scaffolder.run import check_task
from scaffolder.template import Template, template_from_document


class UnknownTemplateError(ScaffolderError):
    """No Template entity has this ref."""


class UnknownTaskError(ScaffolderError):
    """No task has this id."""


class SecretVault:
    """The secrets of the tasks this process created, until each is done."""

    def __init__(self) -> None:
        self._secrets: dict[str, dict[str, Any]] = {}

    def put(self, task_id: str, secrets: Mapping[str, Any]) -> None:
        self._secrets[task_id] = dict(secrets)

    def take(self, task_id: str) -> dict[str, Any]:
        return self._secrets.pop(task_id, {})


def template_key(ref: str) -> str:
    """A template ref as written (``name``, ``template:name``, full) -> its store key."""
    try:
        return parse_ref(ref, default_kind="template").key
    except CatalogError as exc:
        raise UnknownTemplateError(f"{ref!r} is not a template ref: {exc}") from None


async def load_template(store: EntityReader, ref: str) -> Template:
    """The runnable template of the ``Template`` entity ``ref``."""
    key = template_key(ref)
    found = (await store.get_entities([key])).get(key)
    if found is None or found.kind.lower() != "template":
        raise UnknownTemplateError(
            f"no template {ref!r} in the catalog; list them with "
            'entities(kind: "template") or GET /api/catalog/entities?filter=kind=template'
        )
    return template_from_document(found.ref, found.document)


async def user_entity(store: EntityReader, ref: str | None) -> dict[str, Any] | None:
    """The catalog's entity of the user who created a task (``user.entity`` in expressions),
    None when ``ref`` names none."""
    try:
        key = parse_ref(ref, default_kind="user").key if ref else None
    except CatalogError:
        return None
    found = (await store.get_entities([key])).get(key) if key else None
    return dict(found.document) if found is not None else None


class TaskStore(EntityReader, Tasks, Protocol):
    """What creating and running tasks needs of the store."""


async def create_task(
    store: TaskStore,
    template_ref: str,
    values: Mapping[str, Any],
    *,
    secrets: Mapping[str, Any] | None = None,
    created_by: str | None = None,
    dry_run: bool = False,
    vault: SecretVault | None = None,
    pin_to: str | None = None,
    claim_for: tuple[str, datetime] | None = None,
    actions: Actions = ACTIONS,
) -> TaskRecord:
    """Check and store a new open task; :class:`ScaffolderError` when it cannot run.
    ``claim_for`` (owner, lease end) stores it already claimed by that owner, for a process
    that runs the task itself (the CLI); no other process ever sees it open."""
    template = await load_template(store, template_ref)
    filled = check_task(template, values, actions)
    if secrets and (vault is None or pin_to is None):
        raise TemplateError(
            "this process runs no scheduler to hold the secrets: send the task to a server "
            "that runs one (stagegraph serve), or pass no secrets"
        )
    task = TaskRecord(
        id=str(uuid.uuid4()),
        template=template.ref,
        status="open",
        created_at=datetime.now(UTC),
        created_by=created_by,
        values=filled,
        steps=[TaskStep(s.id, s.name, s.action) for s in template.steps],
        dry_run=dry_run,
        pinned_to=pin_to if secrets else None,
    )
    if claim_for is not None:
        task.status, (task.owner, task.lease_until) = "processing", claim_for
    if secrets and vault is not None:
        vault.put(task.id, secrets)
    await store.save_task(task)
    return task


async def cancel_task(store: Tasks, task_id: str) -> TaskRecord:
    """Cancel an open task at once, or ask the scheduler running it to stop it."""
    now = datetime.now(UTC)
    task = await store.request_cancel(task_id, now)
    if task is None:
        raise UnknownTaskError(f"no task has the id {task_id!r}")
    if task.status == "cancelled":
        await store.add_task_events(
            task_id,
            now,
            [
                ("cancelled", {"message": "the task was cancelled before it started"}),
                (
                    "completion",
                    {"message": "Run completed with status: cancelled", "status": "cancelled"},
                ),
            ],
        )
    return task
