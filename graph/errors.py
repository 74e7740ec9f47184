"""Errors of the graph store layer.

The whole tree, once::

    StoreError                 anything the store could not do
    ├── StoreConnectionError   the store cannot be reached or opened (carries the URL)
    └── StoreUrlError          a store URL that names no adapter (carries the URL)

Messages never contain SQL or Cypher; they say which store and what to check.
"""

from __future__ import annotations


class StoreError(Exception):
    """Base class of graph store errors."""


class StoreConnectionError(StoreError):
    """The store cannot be reached, opened or authenticated against."""


class StoreUrlError(StoreError):
    """A store URL no adapter understands."""

    def __init__(self, url: str) -> None:
        self.url = url
        super().__init__(
            f"unsupported store URL {url!r}: use sqlite:///path/to/file.db, "
            "bolt://host:7687 or neo4j://host:7687"
        )
