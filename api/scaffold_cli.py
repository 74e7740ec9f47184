"""``stagegraph scaffold`` and ``stagegraph tasks``: run a template from the command line,
printing its steps as they run and its output links; list tasks.

``scaffold`` runs the task in this process (it is stored already claimed, so no server
sharing the store runs it too) and follows its events from the store as any client would.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.table import Table

from api.settings import Settings
from graph import open_store
from graph.port import GraphStore, TaskRecord
from ingestors.scheduler import default_owner_id
from scaffolder.actions.contract import Services
from scaffolder.register import location_registrar
from scaffolder.service import redact_server_log
from scaffolder.tasks import create_task, template_key
from scaffolder.worker import TaskWorker


def parse_sets(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` pairs; a value reads as YAML (``3`` a number, ``[a, b]`` a list)."""
    values: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{pair!r} is not key=value")
        try:
            values[key] = yaml.safe_load(text) if text else ""
        except yaml.YAMLError:
            values[key] = text
    return values


def read_values(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    loaded = yaml.safe_load(path.read_text())
    if not isinstance(loaded, dict):
        raise typer.BadParameter(f"{path} must hold an object of name: value")
    return loaded


async def _follow(
    store: GraphStore, task_id: str, running: asyncio.Task[TaskRecord], say: Any
) -> None:
    seen = 0
    while True:
        for event in await store.get_task_events(task_id, seen):
            seen = event.seq
            step = event.body.get("stepId")
            if event.type == "log":
                say(f"{'[' + step + '] ' if step else ''}{event.body.get('message', '')}")
        if running.done():
            return
        await asyncio.sleep(0.1)


async def run_scaffold(
    settings: Settings,
    template: str,
    values: dict[str, Any],
    secrets: dict[str, Any],
    dry_run: bool,
    say: Any,
) -> TaskRecord:
    """Create the task claimed by this process, run it here, print its progress."""
    store = open_store(settings.store, user=settings.neo4j_user, password=settings.password)
    await store.setup()
    try:
        owner = default_owner_id()
        services = Services(
            integrations=settings.git_integrations(), register=location_registrar(store)
        )
        worker = TaskWorker(store, services, owner, timeout=settings.task_timeout)
        redact_server_log()
        until = datetime.now(UTC) + timedelta(seconds=worker.lease_ttl)
        task = await create_task(
            store,
            template,
            values,
            secrets=secrets,
            created_by="cli",
            dry_run=dry_run,
            vault=worker.vault,
            pin_to=owner,
            claim_for=(owner, until),
        )
        worker.vault.put(task.id, secrets)
        say(f"task {task.id}: {task.template}{' (dry run)' if dry_run else ''}")
        running = asyncio.create_task(worker.execute(task))
        await _follow(store, task.id, running, say)
        return await running
    finally:
        await store.close()


def print_result(task: TaskRecord, say: Any) -> None:
    say(f"task {task.id} {task.status}" + (f": {task.error}" if task.error else ""))
    for link in task.output.get("links") or []:
        say(f"  {link.get('title') or 'link'}: {link.get('url') or link.get('entityRef')}")
    for item in task.files:
        say(f"--- {item['path']}\n{item['content']}")


def tasks_table(found: list[TaskRecord]) -> Table:
    table = Table(title="Scaffolder tasks (newest first)")
    for column in ("id", "template", "status", "created", "by"):
        table.add_column(column)
    for task in found:
        table.add_row(
            task.id,
            task.template,
            task.status,
            task.created_at.isoformat(timespec="seconds"),
            task.created_by or "",
        )
    return table


async def list_tasks(
    settings: Settings, status: str | None, template: str | None, limit: int
) -> list[TaskRecord]:
    store = open_store(settings.store, user=settings.neo4j_user, password=settings.password)
    await store.setup()
    try:
        ref = None
        if template:
            ref = template_key(template)
            found = await store.get_entities([ref])
            ref = found[ref].ref if ref in found else template
        return await store.list_tasks(limit, template=ref, status=status)
    finally:
        await store.close()


TemplateArgument = Annotated[
    str, typer.Argument(help="The template's ref, e.g. example-nodejs-template.")
]
SetOption = Annotated[
    list[str] | None, typer.Option("--set", help="A value: key=value (repeatable).")
]
SecretOption = Annotated[
    list[str] | None,
    typer.Option("--secret", help="A secret: key=value (repeatable; never stored)."),
]
ValuesOption = Annotated[
    Path | None, typer.Option("--values", help="A YAML or JSON file of values.")
]

__all__ = [
    "SecretOption",
    "SetOption",
    "TemplateArgument",
    "ValuesOption",
    "list_tasks",
    "parse_sets",
    "print_result",
    "read_values",
    "run_scaffold",
    "tasks_table",
]
