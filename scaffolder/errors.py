"""The scaffolder's errors, one base and a subclass per kind of problem::

    ScaffolderError
    ├── TemplateError        the template itself is malformed (no steps, a step without action)
    ├── ParameterError       the values do not fit the template's parameters (every problem)
    ├── UnknownActionError   a step names an action the registry does not have
    ├── ExpressionError      a ``${{ }}`` expression failed or was refused by the sandbox
    ├── WorkspaceError       a path would leave the workspace, or the skeleton is too large
    └── ActionError          an action failed (its message says what and what to do)

Messages never carry a secret value: the runner redacts them before they are stored.
"""

from __future__ import annotations

from collections.abc import Sequence


class ScaffolderError(Exception):
    """Base of every error a template run reports."""


class TemplateError(ScaffolderError):
    """The template document cannot be run as written."""


class ParameterError(ScaffolderError):
    """The values given for a template's parameters are invalid; ``problems`` lists each as
    ``(field, message)``."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = list(problems)
        listed = "; ".join(f"{field}: {message}" for field, message in self.problems)
        super().__init__(f"the values do not fit the template's parameters: {listed}")


class UnknownActionError(ScaffolderError):
    """A step names an action that is not registered."""

    def __init__(self, step: str, action: str, known: Sequence[str]) -> None:
        self.step = step
        self.action = action
        super().__init__(
            f"step {step!r} uses the unknown action {action!r}; registered actions: "
            f"{', '.join(sorted(known))} (add one in scaffolder/actions/registry.py)"
        )


class ExpressionError(ScaffolderError):
    """A template expression could not be rendered, or tried to leave the sandbox."""


class WorkspaceError(ScaffolderError):
    """A path escapes the task's workspace, or content is over the size limit."""


class ActionError(ScaffolderError):
    """An action could not do its work."""
