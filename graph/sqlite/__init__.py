"""The embedded graph store: one SQLite file in WAL mode.

Entities and forward relations are two tables; traversal and the ownership roll-up are
recursive CTEs; search is an FTS5 table kept beside the entities. One connection lives in
one worker thread (SQLite objects stay in the thread that made them), so calls from the
event loop never block it.

One concern a module: :mod:`~graph.sqlite.connection` (the worker thread and cancellation),
:mod:`~graph.sqlite.schema` (tables, indexes, migrations), :mod:`~graph.sqlite.writes`,
:mod:`~graph.sqlite.reads` (filters, listings, facets, search),
:mod:`~graph.sqlite.questions` (traversal, impact, path, ownership),
:mod:`~graph.sqlite.runs` (run log and leases), :mod:`~graph.sqlite.rows` (row and
parameter conversions), and :mod:`~graph.sqlite.store`, the store class delegating to them.
"""

from graph.sqlite.store import SqliteStore

__all__ = ["SqliteStore"]
