"""The scaffolder as a process holds it: creating and cancelling tasks, and (in a process
that runs a scheduler) the :class:`~scaffolder.worker.TaskWorker` that runs them.

A task created here wakes this process's worker at once, so a single server runs it without
waiting for the next poll; other processes sharing the store find it at their next poll.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graph.port import GraphStore, TaskRecord
from scaffolder.actions.contract import Services
from scaffolder.actions.registry import ACTIONS, Actions
from scaffolder.register import location_registrar
from scaffolder.secrets import SERVER_LOG_FILTER
from scaffolder.tasks import SecretVault, cancel_task, create_task
from scaffolder.worker import TaskWorker

log = logging.getLogger("stagegraph.scaffolder")


def redact_server_log() -> None:
    """Add the secret-redacting filter to every handler of the root logger (idempotent)."""
    for handler in logging.getLogger().handlers:
        if SERVER_LOG_FILTER not in handler.filters:
            handler.addFilter(SERVER_LOG_FILTER)


@dataclass
class Scaffolder:
    """Tasks for one process; ``worker`` is None where no scheduler runs (tasks created here
    are then run by another process sharing the store, and may carry no secrets)."""

    store: GraphStore
    owner: str
    worker: TaskWorker | None = None
    actions: Actions = field(default_factory=lambda: ACTIONS)
    _loop: asyncio.Task[None] | None = None

    @classmethod
    def for_store(
        cls,
        store: GraphStore,
        owner: str,
        *,
        run_tasks: bool,
        services: Services | None = None,
        **worker: Any,
    ) -> Scaffolder:
        services = services or Services()
        if services.register is None:
            services.register = location_registrar(store)
        runner = TaskWorker(store, services, owner, **worker) if run_tasks else None
        return cls(store, owner, runner)

    @property
    def vault(self) -> SecretVault | None:
        return self.worker.vault if self.worker else None

    def start(self) -> None:
        if self.worker is not None and self._loop is None:
            redact_server_log()
            self._loop = asyncio.create_task(self.worker.run(), name="task-worker")

    async def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()
        if self._loop is not None:
            await asyncio.gather(self._loop, return_exceptions=True)
            self._loop = None

    async def create(
        self,
        template: str,
        values: Mapping[str, Any],
        *,
        secrets: Mapping[str, Any] | None = None,
        created_by: str | None = None,
        dry_run: bool = False,
    ) -> TaskRecord:
        task = await create_task(
            self.store,
            template,
            values,
            secrets=secrets,
            created_by=created_by,
            dry_run=dry_run,
            vault=self.vault,
            pin_to=self.owner if self.worker else None,
            actions=self.actions,
        )
        if self.worker is not None:
            self.worker.wake()
        return task

    async def cancel(self, task_id: str) -> TaskRecord:
        return await cancel_task(self.store, task_id)
