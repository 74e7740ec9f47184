"""A template as the scaffolder runs it: read from a ``Template`` entity document
(``scaffolder.backstage.io/v1beta3``), checked for what a run needs before anything runs.

- ``spec.parameters`` is one JSON Schema object or a list of them (the pages of a front
  end's form); ``ui:*`` keys are kept for front ends and ignored by validation.
- ``spec.steps``: each has an ``action`` and optionally ``id`` (default ``step-N``), ``name``
  (default the id), ``input``, ``if`` and ``each`` (a list or object the step loops over,
  :mod:`scaffolder.run`); ids are unique.
- ``spec.output``: ``links`` and ``text``, rendered when the steps are done.
- The template's location (``backstage.io/managed-by-location``) is where relative
  ``fetch:*`` URLs start from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scaffolder.errors import TemplateError

LOCATION_ANNOTATION = "backstage.io/managed-by-location"


@dataclass(frozen=True)
class Step:
    """One step of a template: an action and its input (rendered when the step starts)."""

    id: str
    name: str
    action: str
    input: dict[str, Any] = field(default_factory=dict)
    condition: Any = None  # the ``if``: None runs the step
    each: Any = None  # what the step loops over (an expression, a list or an object)


@dataclass(frozen=True)
class Template:
    """What a run needs of a template entity."""

    ref: str
    title: str
    description: str
    pages: list[dict[str, Any]]
    steps: list[Step]
    output: dict[str, Any]
    location: str | None
    owner: str | None = None

    def parameter_schema(self) -> dict[str, Any]:
        """Backstage's ``parameter-schema`` answer: title, description and one step per page."""
        return {
            "title": self.title,
            "description": self.description,
            "steps": [
                {
                    "title": page.get("title", ""),
                    "description": page.get("description", ""),
                    "schema": page,
                }
                for page in self.pages
            ],
        }


def _steps(raw: Any, ref: str) -> list[Step]:
    if not isinstance(raw, list) or not raw:
        raise TemplateError(f"template {ref} has no steps: spec.steps must be a non-empty list")
    steps: list[Step] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        where = f"template {ref}, spec.steps[{index}]"
        if not isinstance(item, dict):
            raise TemplateError(f"{where} is not a mapping with an action")
        action = item.get("action")
        if not isinstance(action, str) or not action:
            raise TemplateError(f"{where} has no action: give e.g. action: fetch:template")
        step_id = str(item.get("id") or f"step-{index + 1}")
        if step_id in seen:
            raise TemplateError(f"{where}: the step id {step_id!r} is used twice; make ids unique")
        seen.add(step_id)
        step_input = item.get("input") or {}
        if not isinstance(step_input, dict):
            raise TemplateError(f"{where}: input must be a mapping")
        name = str(item.get("name") or step_id)
        steps.append(Step(step_id, name, action, step_input, item.get("if"), item.get("each")))
    return steps


def template_from_document(ref: str, document: dict[str, Any]) -> Template:
    """The runnable template of a ``Template`` entity's document; :class:`TemplateError` when
    it cannot run."""
    spec = document.get("spec")
    if not isinstance(spec, dict):
        raise TemplateError(f"template {ref} has no spec")
    metadata = document.get("metadata") or {}
    parameters = spec.get("parameters") or []
    pages = parameters if isinstance(parameters, list) else [parameters]
    if not all(isinstance(page, dict) for page in pages):
        raise TemplateError(f"template {ref}: spec.parameters must be a schema or a list of them")
    output = spec.get("output") or {}
    annotations = metadata.get("annotations") or {}
    return Template(
        ref=ref,
        title=str(metadata.get("title") or metadata.get("name") or ref),
        description=str(metadata.get("description") or ""),
        pages=pages,
        steps=_steps(spec.get("steps"), ref),
        output=output if isinstance(output, dict) else {},
        location=annotations.get(LOCATION_ANNOTATION),
        owner=spec.get("owner"),
    )
