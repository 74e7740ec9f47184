"""Strawberry's extension hooks, each given only the extensions that define it.

Strawberry asks every extension of a request for each of its four hooks (operation, parse,
validate, execute): with eight extensions that is ~32 look-ups per request, most of them
finding the default that does nothing. :class:`HookRunner` (the schema's runner) works out
once per combination of extension classes which of them define each hook.
"""

from __future__ import annotations

from typing import Any

from strawberry.extensions import SchemaExtension
from strawberry.extensions.context import (
    ExecutingContextManager,
    OperationContextManager,
    ParsingContextManager,
    ValidationContextManager,
)
from strawberry.extensions.runner import SchemaExtensionsRunner

#: (the extensions' classes, a hook's name) -> the positions of those that define it
_DEFINING: dict[tuple[tuple[type[Any], ...], str], tuple[int, ...]] = {}


class HookRunner(SchemaExtensionsRunner):
    """Strawberry's runner, handing each hook's context manager only its extensions."""

    def _defining(self, hook: str) -> list[SchemaExtension]:
        extensions = self.extensions
        classes = tuple(map(type, extensions))
        positions = _DEFINING.get((classes, hook))
        if positions is None:
            default = getattr(SchemaExtension, hook)
            positions = tuple(
                n for n, cls in enumerate(classes) if getattr(cls, hook) is not default
            )
            _DEFINING[classes, hook] = positions
        return [extensions[n] for n in positions]

    def operation(self) -> OperationContextManager:
        return OperationContextManager(self._defining(OperationContextManager.HOOK_NAME))

    def validation(self) -> ValidationContextManager:
        return ValidationContextManager(self._defining(ValidationContextManager.HOOK_NAME))

    def parsing(self) -> ParsingContextManager:
        return ParsingContextManager(self._defining(ParsingContextManager.HOOK_NAME))

    def executing(self) -> ExecutingContextManager:
        return ExecutingContextManager(self._defining(ExecutingContextManager.HOOK_NAME))
