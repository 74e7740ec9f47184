"""``extensions.stagegraph.storeQueries``: how many store statements a request cost."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from strawberry.extensions import SchemaExtension

from graph import tracing


class StoreTrace(SchemaExtension):
    """Adds ``{"stagegraph": {"storeQueries": n}}`` to each response's extensions."""

    def __init__(self) -> None:
        super().__init__()
        self._cell = [0]

    def on_operation(self) -> Iterator[None]:
        with tracing.counting() as cell:
            self._cell = cell
            yield

    def get_results(self) -> dict[str, Any]:
        return {"stagegraph": {"storeQueries": self._cell[0]}}
