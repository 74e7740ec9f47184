"""The task worker: claims open tasks from the store and runs them, in every process that
runs a scheduler (``stagegraph serve`` and ``stagegraph worker``).

- Claiming goes through the store (:meth:`graph.port.Tasks.claim_task`), so each task runs
  in exactly one process however many share the store. The claim is a lease of
  ``lease_ttl`` seconds, renewed every third of it while the task runs.
- A process that dies mid-task stops renewing; once the lease expires, any worker marks the
  task ``failed`` with the reason (it is never run again silently).
- Cancellation (:func:`scaffolder.tasks.cancel_task`, seen at the next renewal), a lost
  lease and the task's ``timeout`` cancel the running step: its action is interrupted (a
  git subprocess is killed), the task ends ``cancelled`` or ``failed`` and says why.
- Every step change and log line is stored as a task event as it happens (the event stream
  of the REST API and the GraphQL subscription read them); a task's secrets are redacted
  from the server log while it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from graph.port import TaskRecord
from scaffolder.actions.contract import Services
from scaffolder.actions.registry import ACTIONS, Actions
from scaffolder.errors import ScaffolderError
from scaffolder.run import RunResult, TaskSpec, run_task
from scaffolder.secrets import SERVER_LOG_FILTER, Redactor
from scaffolder.tasks import SecretVault, TaskStore, load_template, user_entity
from scaffolder.template import Step

log = logging.getLogger("stagegraph.scaffolder")

EXPIRED = (
    "the process running this task stopped (its lease expired) before the task ended; it "
    "was not run again, since some steps may have taken effect: check them and create a new task"
)


def _now() -> datetime:
    return datetime.now(UTC)


class _StoreReporter:
    """Writes a run's progress to the task record and its events."""

    def __init__(self, store: TaskStore, task: TaskRecord, now: Callable[[], datetime]) -> None:
        self.store, self.task, self.now = store, task, now

    def _step(self, step_id: str) -> Any:
        return next(s for s in self.task.steps if s.id == step_id)

    async def _set(self, step: Step, status: str) -> None:
        record = self._step(step.id)
        record.status = status
        if status == "processing":
            record.started_at = self.now()
        else:
            record.ended_at = self.now()
            record.started_at = record.started_at or record.ended_at
        await self.store.save_task(self.task)

    async def step_started(self, step: Step) -> None:
        await self._set(step, "processing")
        await self.store.add_task_events(
            self.task.id,
            self.now(),
            [
                (
                    "log",
                    {
                        "stepId": step.id,
                        "status": "processing",
                        "message": f"Beginning step {step.name}",
                    },
                )
            ],
        )

    async def step_ended(self, step: Step, status: str, error: str | None) -> None:
        await self._set(step, status)
        message = (
            f"Finished step {step.name}" if status == "completed" else f"Step {step.name} {status}"
        )
        await self.store.add_task_events(
            self.task.id,
            self.now(),
            [("log", {"stepId": step.id, "status": status, "message": message})],
        )

    async def log(self, step: Step | None, line: str) -> None:
        body: dict[str, Any] = {"message": line}
        if step is not None:
            body["stepId"] = step.id
        await self.store.add_task_events(self.task.id, self.now(), [("log", body)])


@dataclass
class TaskWorker:
    """Claims and runs tasks until :meth:`stop`."""

    store: TaskStore
    services: Services
    owner: str
    vault: SecretVault = field(default_factory=SecretVault)
    actions: Actions = field(default_factory=lambda: ACTIONS)
    lease_ttl: float = 30.0
    poll_seconds: float = 1.0
    timeout: timedelta = timedelta(minutes=30)
    work_dir: Path | None = None
    now: Callable[[], datetime] = _now
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _stopping: bool = False

    def wake(self) -> None:
        """Look for a task now (a task was just created in this process)."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Claim and run tasks one after another until stopped."""
        while not self._stopping:
            try:
                ran = await self.run_once()
            except Exception:
                log.exception("the task worker could not reach the store; retrying")
                ran = False
            if not ran and not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
                self._wake.clear()

    async def run_once(self) -> bool:
        """Fail the tasks of dead processes, then claim and run one task; False when there
        was none to claim."""
        now = self.now()
        for dead in await self.store.fail_expired_tasks(now, EXPIRED):
            log.warning("task %s failed: %s", dead.id, EXPIRED, extra={"task_id": dead.id})
            await self.store.add_task_events(
                dead.id, now, [("completion", {"message": EXPIRED, "status": "failed"})]
            )
        task = await self.store.claim_task(self.owner, now, now + timedelta(seconds=self.lease_ttl))
        if task is None:
            return False
        await self.execute(task)
        return True

    async def execute(self, task: TaskRecord) -> TaskRecord:
        """Run a claimed task to its end and record how it ended."""
        secrets = self.vault.take(task.id)
        SERVER_LOG_FILTER.redactors[task.id] = Redactor(secrets.values())
        log.info(
            "task %s started (template %s)", task.id, task.template, extra={"task_id": task.id}
        )
        reporter = _StoreReporter(self.store, task, self.now)
        stop_reason: list[tuple[str, str]] = []
        try:
            template = await load_template(self.store, task.template)
            spec = TaskSpec(
                task.id,
                template,
                task.values,
                secrets,
                task.created_by,
                task.dry_run,
                await user_entity(self.store, task.created_by),
            )
            running = asyncio.create_task(
                run_task(
                    spec, reporter, self.services, actions=self.actions, work_dir=self.work_dir
                )
            )
            keeper = asyncio.create_task(self._keep(task, running, stop_reason))
            try:
                result = await running
            except asyncio.CancelledError:
                if not stop_reason:
                    raise
                status, reason = stop_reason[0]
                result = RunResult(status, error=reason)
                for step in task.steps:
                    if step.status == "processing":
                        step.status, step.ended_at = status, self.now()
                await reporter.log(None, reason)
            finally:
                keeper.cancel()
        except ScaffolderError as exc:
            result = RunResult("failed", error=str(exc))
            await reporter.log(None, str(exc))
        finally:
            SERVER_LOG_FILTER.redactors.pop(task.id, None)
        for step in task.steps:
            if step.status == "open":
                step.status = "skipped"
        task.status, task.error, task.failed_step = result.status, result.error, result.failed_step
        task.output, task.files, task.step_inputs = result.output, result.files, result.step_inputs
        task.notifications, task.ended_at, task.lease_until = result.notifications, self.now(), None
        await self.store.save_task(task)
        await self.store.add_task_events(
            task.id,
            self.now(),
            [
                (
                    "completion",
                    {
                        "message": f"Run completed with status: {task.status}",
                        "status": task.status,
                        "output": task.output,
                    },
                )
            ],
        )
        log.info("task %s ended %s", task.id, task.status, extra={"task_id": task.id})
        return task

    async def _keep(
        self, task: TaskRecord, running: asyncio.Task[RunResult], stop: list[tuple[str, str]]
    ) -> None:
        """Renew the lease; stop the run when cancelled, past its timeout, or the lease is lost."""
        deadline = self.now() + self.timeout
        while not running.done():
            await asyncio.sleep(min(self.lease_ttl / 3, 0.5))
            now = self.now()
            try:
                held = await self.store.renew_task(
                    task.id, self.owner, now + timedelta(seconds=self.lease_ttl)
                )
            except Exception:
                log.exception("could not renew the lease of task %s", task.id)
                continue
            if held is None:
                stop.append(
                    (
                        "failed",
                        "the task lost its lease (another process took it over) and was stopped",
                    )
                )
            elif held.cancel_requested:
                stop.append(("cancelled", "the task was cancelled; the running step was stopped"))
            elif now >= deadline:
                stop.append(
                    (
                        "failed",
                        f"the task took longer than its timeout of {self.timeout} and was stopped",
                    )
                )
            if stop:
                running.cancel()
                return
