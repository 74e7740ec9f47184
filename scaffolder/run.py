"""One template run, start to end: the pipeline every task goes through.

1. The values are checked against the parameters (every problem listed) and every step's
   action is looked up: nothing runs when either fails.
2. A fresh workspace is made; the steps run in order. A step's ``if`` and ``input`` are
   rendered first (``parameters``, ``steps[id].output``, ``user``, ``secrets``,
   ``context.task.id``); a false ``if`` skips it; its input is checked against the action's
   schema; its action runs.
3. A step with ``each`` (Backstage's loop) runs its action once per item of the list or
   object ``each`` renders to, with ``each.key`` (the index as a string, or the member's
   name) and ``each.value`` in its ``if`` and ``input``; the ``if`` is read per item. Every
   item's input is checked before the first runs; each output is the list of the items'
   values. ``each`` rendering to nothing (null, false, empty text) fails the step.
4. ``output`` (links, text) is rendered at the end. A dry run also returns the files the
   workspace holds and each step's rendered input; its actions publish and register nothing.

The first failing step fails the run (the steps after it are skipped). Every log line, step
input kept for a dry run, output and error message passes through the task's
:class:`~scaffolder.secrets.Redactor`. What happens is told to a :class:`Reporter` as it
happens; the workspace is removed at the end.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from jsonschema import Draft7Validator

from scaffolder.actions.contract import ActionContext, Services
from scaffolder.actions.registry import ACTIONS, Actions
from scaffolder.errors import ActionError, ScaffolderError, UnknownActionError
from scaffolder.parameters import validate_values
from scaffolder.render import is_truthy, render_value
from scaffolder.secrets import Redactor
from scaffolder.template import Step, Template
from scaffolder.workspace import Workspace

#: Dry-run files larger than this are returned truncated.
MAX_DRY_RUN_FILE = 256 * 1024


class Reporter(Protocol):
    """Told what a run does as it does it (lines are already redacted)."""

    async def step_started(self, step: Step) -> None: ...

    async def step_ended(self, step: Step, status: str, error: str | None) -> None: ...

    async def log(self, step: Step | None, line: str) -> None: ...


@dataclass
class RunResult:
    """How a run ended: ``completed`` or ``failed`` (with the step and the error)."""

    status: str
    output: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    failed_step: str | None = None
    files: list[dict[str, str]] = field(default_factory=list)
    step_inputs: dict[str, Any] = field(default_factory=dict)
    notifications: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class TaskSpec:
    """What a task runs: the template, the values, who asked."""

    task_id: str
    template: Template
    values: dict[str, Any]
    secrets: Mapping[str, Any] = field(default_factory=dict)
    user_ref: str | None = None
    dry_run: bool = False
    user_entity: Mapping[str, Any] | None = None  # the catalog's entity of user_ref, if any


def check_task(
    template: Template, values: Mapping[str, Any], actions: Actions = ACTIONS
) -> dict[str, Any]:
    """The values with defaults, once they and every step's action are known good."""
    filled = validate_values(template.pages, values)
    for step in template.steps:
        if step.action not in actions:
            raise UnknownActionError(step.id, step.action, list(actions))
    return filled


def _check_input(step: Step, schema: Mapping[str, Any], value: Mapping[str, Any]) -> None:
    problems = [
        f"{'.'.join(map(str, e.absolute_path)) or 'input'}: {e.message}"
        for e in Draft7Validator(schema).iter_errors(dict(value))
    ]
    if problems:
        raise ActionError(
            f"the input of step {step.id!r} ({step.action}) is invalid: {'; '.join(problems)}"
        )


def _files(workspace: Workspace, redactor: Redactor) -> list[dict[str, str]]:
    found = []
    for name in workspace.files():
        data = (workspace.root / name).read_bytes()[:MAX_DRY_RUN_FILE]
        found.append({"path": name, "content": redactor.text(data.decode(errors="replace"))})
    return found


Iteration = tuple[dict[str, Any] | None, dict[str, Any] | None]
"""One run of a step's action: its ``each`` item (None without ``each``) and its rendered
input (None when the item's ``if`` is false)."""


def _skipped(step: Step, context: Mapping[str, Any]) -> bool:
    """Whether the ``if`` of a step without ``each`` skips it (with ``each``, it is read per
    item)."""
    if step.each is not None or step.condition is None:
        return False
    return not is_truthy(render_value(step.condition, context))


def _iterations(step: Step, context: Mapping[str, Any]) -> list[Iteration]:
    """The runs of ``step``'s action (one without ``each``)."""
    if step.each is None:
        return [(None, render_value(step.input, context))]
    items = render_value(step.each, context)
    if items is None or items is False or items == "" or items == 0:
        raise ActionError(
            f"the each of step {step.id!r} ({step.each!r}) renders to nothing; give a list or "
            "an object to loop over"
        )
    if isinstance(items, Mapping):
        pairs = [(str(key), value) for key, value in items.items()]
    elif isinstance(items, list):
        pairs = [(str(index), value) for index, value in enumerate(items)]
    else:
        raise ActionError(
            f"the each of step {step.id!r} renders to a {type(items).__name__}; it must be a "
            "list or an object"
        )
    runs: list[Iteration] = []
    for key, value in pairs:
        item = {"key": key, "value": value}
        scoped = {**context, "each": item}
        runs_it = step.condition is None or is_truthy(render_value(step.condition, scoped))
        runs.append((item, render_value(step.input, scoped) if runs_it else None))
    return runs


def _item(item: dict[str, Any] | None) -> str:
    return json.dumps(item, default=str, ensure_ascii=False)


def _action_context(
    spec: TaskSpec,
    step: Step,
    workspace: Workspace,
    step_input: dict[str, Any],
    services: Services,
) -> tuple[ActionContext, list[str]]:
    """The context one run of ``step``'s action works with, and the log lines it writes."""
    lines: list[str] = []
    ctx = ActionContext(
        task_id=spec.task_id,
        step_id=step.id,
        template=spec.template,
        workspace=workspace,
        input=step_input,
        user_ref=spec.user_ref,
        secrets=spec.secrets,
        dry_run=spec.dry_run,
        services=services,
        log=lines.append,
    )
    return ctx, lines


async def run_task(
    spec: TaskSpec,
    reporter: Reporter,
    services: Services,
    *,
    actions: Actions = ACTIONS,
    work_dir: Path | None = None,
) -> RunResult:
    """Run ``spec`` to its end; a :class:`RunResult` whether it completed or failed (only a
    cancellation propagates, after the workspace is removed)."""
    redactor = Redactor(spec.secrets.values())
    result = RunResult("completed")
    try:
        values = check_task(spec.template, spec.values, actions)
    except ScaffolderError as exc:
        result.status, result.error = "failed", redactor.text(str(exc))
        await reporter.log(None, result.error)
        return result
    base = Path(tempfile.mkdtemp(prefix="stagegraph-task-", dir=work_dir))
    workspace = Workspace(base / "workspace")
    workspace.root.mkdir()
    user = {
        "ref": spec.user_ref,
        "entity": dict(spec.user_entity)
        if spec.user_entity
        else {"metadata": {"name": (spec.user_ref or "").rpartition("/")[2]}},
    }
    context: dict[str, Any] = {
        "parameters": values,
        "steps": {},
        "user": user,
        "secrets": dict(spec.secrets),
        "context": {"task": {"id": spec.task_id}},
    }
    current: Step | None = None
    try:
        for step in spec.template.steps:
            current = step
            if _skipped(step, context):
                await reporter.step_ended(step, "skipped", None)
                await reporter.log(step, f"skipped: its if is false ({step.condition})")
                continue
            await reporter.step_started(step)
            iterations = _iterations(step, context)
            action = actions[step.action]
            for _, step_input in iterations:
                if step_input is not None:
                    _check_input(step, action.input_schema, step_input)
            if spec.dry_run:
                inputs = [redactor.value(given) for _, given in iterations]
                result.step_inputs[step.id] = inputs if step.each is not None else inputs[0]
            outputs: dict[str, Any] = {}
            for item, step_input in iterations:
                if step_input is None:
                    await reporter.log(step, f"skipping step each: {_item(item)}")
                    continue
                if item is not None:
                    await reporter.log(step, f"running step each: {_item(item)}")
                ctx, lines = _action_context(spec, step, workspace, step_input, services)
                try:
                    await action.handler(ctx)
                finally:
                    for line in lines:
                        await reporter.log(step, redactor.text(line))
                for name, value in ctx.outputs.items():
                    if step.each is None:
                        outputs[name] = value
                    else:
                        outputs.setdefault(name, []).append(value)
                result.notifications.extend(redactor.value(ctx.notifications))
            context["steps"][step.id] = {"output": outputs}
            await reporter.step_ended(step, "completed", None)
        current = None
        result.output = redactor.value(render_value(spec.template.output, context))
        if spec.dry_run:
            result.files = _files(workspace, redactor)
    except (ScaffolderError, OSError, ValueError, TypeError) as exc:
        message = redactor.text(
            str(exc) if isinstance(exc, ScaffolderError) else f"{exc.__class__.__name__}: {exc}"
        )
        result.status, result.error = "failed", message
        if current is not None:
            result.failed_step = current.id
            await reporter.log(current, f"failed: {message}")
            await reporter.step_ended(current, "failed", message)
        else:
            await reporter.log(None, f"failed: {message}")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return result
