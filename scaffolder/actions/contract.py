"""The action contract: what a step's action is given and what it gives back.

An :class:`Action` has an id (``fetch:template``), a description, a JSON Schema of its input
(checked before it runs; ``GET /api/scaffolder/v2/actions`` lists it) and an ``async``
handler that does the work through an :class:`ActionContext`: the workspace, the rendered
input, a log, and ``output(name, value)``. An action that touches the world outside the
workspace (publishing, registering, notifying) looks at ``ctx.dry_run`` and only says what
it would do.

What an action needs from the rest of Stagegraph comes through :class:`Services`, built by
whoever runs tasks (the serve or worker process, or a test): credentials of the git hosts,
the catalog registration, and where notifications go.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from scaffolder.template import Template
from scaffolder.workspace import Workspace


@dataclass(frozen=True)
class Integration:
    """A git host the publish actions may create repositories on: its API and token."""

    host: str
    kind: str  # github | gitlab
    api_url: str
    token: str | None = None
    git_url: str | None = None  # clone URLs' base when it is not https://<host>


class Registrar(Protocol):
    """Registers a repository's descriptor as a catalog location and ingests it at once;
    returns the refs of the entities read, every one annotated with ``template_ref``."""

    async def __call__(self, target: str, template_ref: str) -> list[str]: ...


@dataclass
class Services:
    """What actions reach outside the workspace."""

    integrations: Mapping[str, Integration] = field(default_factory=dict)
    register: Registrar | None = None
    git_env: Mapping[str, str] = field(default_factory=dict)  # extra environment for git


@dataclass
class ActionContext:
    """Everything one step's action works with."""

    task_id: str
    step_id: str
    template: Template
    workspace: Workspace
    input: dict[str, Any]
    user_ref: str | None
    secrets: Mapping[str, Any]
    dry_run: bool
    services: Services
    log: Callable[[str], None]
    outputs: dict[str, Any] = field(default_factory=dict)
    notifications: list[dict[str, Any]] = field(default_factory=list)

    def output(self, name: str, value: Any) -> None:
        self.outputs[name] = value


Handler = Callable[[ActionContext], Awaitable[None]]


@dataclass(frozen=True)
class Action:
    """A registered action."""

    id: str
    description: str
    handler: Handler
    input_schema: dict[str, Any] = field(default_factory=lambda: {"type": "object"})
    output_schema: dict[str, Any] = field(default_factory=lambda: {"type": "object"})
    examples: Sequence[dict[str, Any]] = ()

    def describe(self) -> dict[str, Any]:
        """Backstage's ``GET /actions`` item."""
        return {
            "id": self.id,
            "description": self.description,
            "schema": {"input": self.input_schema, "output": self.output_schema},
            "examples": list(self.examples),
        }


def schema(required: Sequence[str] = (), **properties: dict[str, Any]) -> dict[str, Any]:
    """An input schema: an object with ``properties``, ``required`` ones among them."""
    return {"type": "object", "required": list(required), "properties": properties}


def text(description: str) -> dict[str, Any]:
    return {"type": "string", "description": description}
