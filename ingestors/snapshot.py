"""What a source's ``transform`` hands to the runner: validated entities and the problems met."""

from __future__ import annotations

from dataclasses import dataclass, field

from catalog.entity import Entity
from catalog.errors import SourceLocation
from graph.port import RunError


@dataclass(frozen=True)
class Descriptor:
    """A validated entity and where it was read."""

    entity: Entity
    location: SourceLocation


@dataclass(frozen=True)
class Rejected:
    """An invalid entity whose ref is known: it keeps its last good version in the store."""

    ref: str
    error: RunError


@dataclass
class Snapshot:
    """The outcome of reading a source once.

    ``keep_files`` lists files that could not be read or parsed: entities this source had
    from them are kept, since the run cannot tell whether they still exist.
    """

    source_type: str
    commit: str | None = None
    descriptors: list[Descriptor] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    errors: list[RunError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    keep_files: set[str] = field(default_factory=set)
    files_read: int = 0
