"""Errors of the ingestion layer.

The whole tree, once::

    IngestError                  anything that stops a run from reading its source
    ├── SourceUnavailableError   the source cannot be read at all (missing path, failed
    │                             clone, unknown ref); carries ``source``; nothing is deleted
    └── SourceConfigError        a source described wrongly (bad option); carries ``source``

Errors in single files or entities are not exceptions: they are collected in the run
record (:class:`graph.port.RunError`) and the rest of the source is ingested.
"""

from __future__ import annotations


class IngestError(Exception):
    """Base class of ingestion errors."""


class SourceUnavailableError(IngestError):
    """The source could not be read; the run fails and deletes nothing."""

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"cannot read source {source}: {reason}")


class SourceConfigError(IngestError):
    """A source option is wrong; the message says which and how to fix it."""

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"source {source}: {reason}")
