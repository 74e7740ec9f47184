"""Facet counts: how many entities of each kind have each value of a few-valued path, kept
by every write, so that facets under a filter of kinds at most are a few rows whatever the
number of entities (the SQLite adapter's ``field_counts``, :mod:`graph.sqlite.facets`).

One ``(:FacetCount {id, path, kind, value, n})`` per path of
:data:`~graph.neo4j.schema.FACET_PROPERTIES`, lowercase kind and value as written. An
entity counts once for each value it has at a path: its one value is its facet property
(:func:`graph.neo4j.rows.facet_props`); where it has several (``facet_multi``) they are read
from its ``field_pairs``. Counts that fell to zero stay (one per value ever seen); reads
leave them out.

Kept in the writer's own transaction (:class:`Counting`): the counted values of the keys it
writes are read before its statements (existing nodes locked first, so a concurrent writer
of the same key waits and the values read are the ones it replaces) and after them, and the
difference is applied as its last statement, in id order. Two concurrent batch transactions
(the first ingest's :data:`~graph.neo4j.writes.BULK_WRITERS`) thus lock count nodes in one
order, each only from its last statement to its commit: they wait, they do not deadlock, and
``SET c.n = c.n + d.n`` locks before it reads (no increment is lost). A store written before
the counts is counted once at setup (:func:`fill`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, LiteralString

from neo4j import AsyncManagedTransaction

from graph.conditions import PAIR_SEPARATOR
from graph.neo4j.connection import Connection
from graph.neo4j.schema import FACET_PROPERTIES, PAIRS_SEPARATOR

#: The ``[path, value]`` items an entity ``e`` is counted under: its facet properties, and
#: where it has several values at a path (``facet_multi``), those from its ``field_pairs``.
_ITEMS: LiteralString = """
UNWIND [f IN $counted_facets WHERE e[f.prop] IS NOT NULL | [f.path, e[f.prop]]]
     + CASE WHEN e.facet_multi THEN reduce(found = [], f IN $counted_facets |
         found + CASE WHEN e[f.prop] IS NULL THEN
           [p IN split(e.field_pairs, $items) WHERE p STARTS WITH f.prefix
            | [f.path, substring(p, size(f.prefix))]] ELSE [] END)
       ELSE [] END AS item
WITH item[0] AS path, e.kind AS kind, item[1] AS value, count(*) AS n
RETURN collect([path, kind, value, n]) AS counts
"""

#: the counted values of the entities among ``$keys``
COUNTED: LiteralString = "MATCH (e:Ref) WHERE e.key IN $keys AND e:Entity" + _ITEMS

#: :data:`COUNTED` after locking the nodes of ``$keys`` (what an upsert sets first anyway)
COUNTED_LOCKED: LiteralString = (
    "MATCH (e:Ref) WHERE e.key IN $keys SET e.run_id = $run_id WITH e WHERE e:Entity" + _ITEMS
)

#: adds ``$deltas`` (``[id, path, kind, value, n]``, in id order) to their counts
APPLY: LiteralString = """
UNWIND $deltas AS d
MERGE (c:FacetCount {id: d[0]})
ON CREATE SET c.path = d[1], c.kind = d[2], c.value = d[3], c.n = 0
SET c.n = c.n + d[4]
"""

#: Whether this transaction is the one that counts the store (a marker count of no path,
#: made once: a concurrent replica waits on its key, then finds it made).
_CLAIM: LiteralString = """
MERGE (m:FacetCount {id: ''})
ON CREATE SET m.n = -1
WITH m, m.n = -1 AS claimed
SET m.n = 0
RETURN claimed
"""
_ALL: LiteralString = "MATCH (e:Entity)" + _ITEMS


#: The summary facets (:func:`graph.neo4j.reads.facets`) a count answers -> its path; the
#: kind's values are the lowercase kinds (as the SQLite adapter's summary gives them).
SUMMARY_PATHS: dict[str, str] = {
    "kind": "kind",
    "spec.type": "spec.type",
    "spec.lifecycle": "spec.lifecycle",
}


def read_call(by_kind: bool, summary: bool = False) -> LiteralString:
    """A subquery binding ``counts``: ``[path, value, n]`` of ``$count_paths`` over the
    kinds ``$count_kinds`` (every kind unless ``by_kind``), read through the (path, kind)
    index, counts of zero left out; with ``summary``, the kind path's values are the
    lowercase kinds."""
    kind: LiteralString = "c.kind IN $count_kinds" if by_kind else "c.kind IS NOT NULL"
    value: LiteralString = (
        "CASE c.path WHEN 'kind' THEN c.kind ELSE c.value END" if summary else "c.value"
    )
    return (
        "CALL () {\n  MATCH (c:FacetCount) WHERE c.path IN $count_paths AND "
        + kind
        + "\n  WITH c.path AS path, "
        + value
        + """ AS value, sum(c.n) AS n WHERE n > 0
  RETURN collect([path, value, n]) AS counts
}
"""
    )


Key = tuple[str, str, str]


def _params() -> dict[str, Any]:
    return {
        "counted_facets": [
            {"path": path, "prop": prop, "prefix": path + PAIR_SEPARATOR}
            for path, prop in FACET_PROPERTIES.items()
        ],
        "items": PAIRS_SEPARATOR,
    }


def _counter(rows: Sequence[Sequence[Any]]) -> Counter[Key]:
    return Counter({(str(p), str(k), str(v)): int(n) for p, k, v, n in rows})


def _id(key: Key) -> str:
    return PAIRS_SEPARATOR.join(key)


class Counting:
    """The count upkeep of one write transaction: :meth:`before` as its first statement,
    :meth:`after` as its last. ``written`` are the keys it upserts (locked first, with the
    run id their upsert sets), ``removed`` those it may retire."""

    def __init__(
        self,
        db: Connection,
        written: Sequence[str] = (),
        run_id: str = "",
        removed: Sequence[str] = (),
    ) -> None:
        self._db = db
        self._written = sorted(set(written))
        self._removed = sorted(set(removed) - set(written))
        self._run_id = run_id
        self._before: Counter[Key] = Counter()

    async def before(self, tx: AsyncManagedTransaction) -> None:
        """Read the counted values of the keys, the written ones once locked."""
        self._before = Counter()
        if self._written:
            rows = await self._db.run(
                tx, COUNTED_LOCKED, keys=self._written, run_id=self._run_id, **_params()
            )
            self._before += _counter(rows[0]["counts"])
        if self._removed:
            rows = await self._db.run(tx, COUNTED, keys=self._removed, **_params())
            self._before += _counter(rows[0]["counts"])

    async def after(self, tx: AsyncManagedTransaction) -> None:
        """Read them again and add the difference to the counts."""
        keys = self._written + self._removed
        if not keys:
            return
        (row,) = await self._db.run(tx, COUNTED, keys=keys, **_params())
        after = _counter(row["counts"])
        deltas = [
            [_id(key), *key, after[key] - self._before[key]]
            for key in sorted(after.keys() | self._before.keys(), key=_id)
            if after[key] != self._before[key]
        ]
        if deltas:
            await self._db.run(tx, APPLY, deltas=deltas)


async def fill(db: Connection) -> None:
    """Count every entity once, in a store written before the counts were kept."""

    async def work(tx: AsyncManagedTransaction) -> None:
        (claim,) = await db.run(tx, _CLAIM)
        if not claim["claimed"]:
            return
        (row,) = await db.run(tx, _ALL, **_params())
        counts = _counter(row["counts"])
        deltas = [[_id(key), *key, counts[key]] for key in sorted(counts, key=_id)]
        if deltas:
            await db.run(tx, APPLY, deltas=deltas)

    await db.write(work)


def read_params(paths: Sequence[str], kinds: Sequence[str]) -> dict[str, Any]:
    """The parameters of :func:`read_call`: ``paths`` over ``kinds``."""
    return {"count_paths": list(paths), "count_kinds": list(kinds)}


def read_counts(row: Mapping[str, Any], paths: Sequence[str]) -> dict[str, list[tuple[str, int]]]:
    """Each of ``paths``' counts from a row holding :func:`read_call`'s, most frequent first."""
    found: dict[str, list[tuple[str, int]]] = {path: [] for path in paths}
    for path, value, n in row["counts"]:
        found[str(path)].append((str(value), int(n)))
    for counted in found.values():
        counted.sort(key=lambda pair: (-pair[1], pair[0]))
    return found
