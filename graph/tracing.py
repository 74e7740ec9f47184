"""Counting store round trips per request, for tracing and N+1 tests.

A request opens :func:`counting`; every statement an adapter sends while it is open adds
one (:func:`add`). The count lives in a context variable, so concurrent requests do not
mix, and the tasks and worker threads a request starts add to the request's own count.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_COUNT: ContextVar[list[int] | None] = ContextVar("stagegraph_store_queries", default=None)


@contextmanager
def counting() -> Iterator[list[int]]:
    """Count statements sent while the block runs; the count is ``cell[0]``. Nested blocks
    share the outer block's count (one request, one count)."""
    outer = _COUNT.get()
    if outer is not None:
        yield outer
        return
    cell = [0]
    token = _COUNT.set(cell)
    try:
        yield cell
    finally:
        _COUNT.reset(token)


def add(statements: int = 1) -> None:
    cell = _COUNT.get()
    if cell is not None:
        cell[0] += statements
