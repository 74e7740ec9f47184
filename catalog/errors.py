"""Errors of the catalog layer.

The whole tree, once::

    CatalogError                  anything wrong with catalog data
    ├── InvalidRefError           an entity ref that cannot be parsed (carries ``ref``)
    ├── InvalidEntityError        an entity that breaks a validation rule
    │                              (carries ``entity``, ``field`` and ``location``)
    └── DescriptorError           a descriptor file that cannot be read as YAML
                                   (carries ``location`` with file, line and column)

Every message says what was wrong, where, and what to do about it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SourceLocation:
    """Where something came from: a file path (relative to its source) and a 1-based line."""

    file: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        if self.line is None:
            return self.file
        if self.column is None:
            return f"{self.file}:{self.line}"
        return f"{self.file}:{self.line}:{self.column}"


class CatalogError(Exception):
    """Base class of every catalog data error."""


class InvalidRefError(CatalogError):
    """An entity ref that cannot be parsed."""

    def __init__(self, ref: str, reason: str, field: str | None = None) -> None:
        self.ref = ref
        self.reason = reason
        self.field = field
        where = f" in {field}" if field else ""
        super().__init__(f"invalid entity ref {ref!r}{where}: {reason}")


class InvalidEntityError(CatalogError):
    """An entity that breaks a validation rule; ``field`` is a dotted path such as ``spec.owner``."""

    def __init__(
        self,
        message: str,
        *,
        entity: str | None = None,
        field: str | None = None,
        location: SourceLocation | None = None,
    ) -> None:
        self.message = message
        self.entity = entity
        self.field = field
        self.location = location
        super().__init__(self.describe())

    def describe(self, with_location: bool = True) -> str:
        parts = []
        if with_location and self.location is not None:
            parts.append(f"{self.location}:")
        if self.entity:
            parts.append(f"{self.entity}:")
        if self.field:
            parts.append(f"{self.field}:")
        parts.append(self.message)
        return " ".join(parts)


class DescriptorError(CatalogError):
    """A descriptor file that is not valid YAML, too large, or not a mapping."""

    def __init__(self, message: str, location: SourceLocation) -> None:
        self.message = message
        self.location = location
        super().__init__(f"{location}: {message}")

    def __reduce__(self) -> tuple[type[DescriptorError], tuple[str, SourceLocation]]:
        # pickled with its own arguments: parses come back from other processes
        return (type(self), (self.message, self.location))
