"""Facets of few-valued paths read from indexes, not counted over every matching entity.

Each path of :data:`~graph.neo4j.schema.FACET_PROPERTIES` (kind, namespace, spec.type,
spec.lifecycle, spec.owner) keeps an entity's one value as written in its own property,
indexed with the lowercase kind (:func:`graph.neo4j.rows.facet_props`). Under a filter of
kinds at most (:func:`graph.conditions.kinds_only`: none, or Backstage's pickers'
``filter=kind=component``) a facet is then an aggregation over that index's entries, which
hold both the kind and the value: no node is read. The few entities with several values
at one such path (``facet_multi``, found through its own index) are counted from their
``field_pairs`` (a joined list: :mod:`graph.neo4j.schema`), as every other facet is (:func:`graph.neo4j.filters.field_facets_query`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, LiteralString

from graph.conditions import PAIR_SEPARATOR
from graph.neo4j.schema import FACET_PROPERTIES, PAIRS_SEPARATOR

_COLUMNS: tuple[LiteralString, ...] = tuple(f"f{i}" for i in range(len(FACET_PROPERTIES)))
#: the kind condition: the kinds asked for, or every entity (which lets the planner scan
#: the composite (kind, value) index instead of reading nodes)
_ANY_KIND: LiteralString = "e.kind IS NOT NULL"
_KINDS: LiteralString = "e.kind IN $facet_kinds"


def indexed_facets_calls(paths: Sequence[str], by_kind: bool) -> LiteralString:
    """Subqueries binding column ``f<i>``: ``[value, count]`` pairs of the ``i``-th of
    ``paths`` (keys of :data:`FACET_PROPERTIES`) over the entities with one value there,
    and ``multi``: ``[i, value, count]`` triples over those with several (``$counted_facets``: maps
    of ``prop`` and ``prefix`` = path<SEP>, in the order of ``paths``). A statement returns
    :func:`indexed_columns` after them."""
    kind = _KINDS if by_kind else _ANY_KIND
    text: LiteralString = ""
    for index, path in enumerate(paths):
        prop = FACET_PROPERTIES[path]
        text += (
            "CALL () {\n  MATCH (e:Entity) WHERE "
            + kind
            + " AND e."
            + prop
            + " IS NOT NULL\n  WITH e."
            + prop
            + " AS value, count(*) AS n\n  RETURN collect([value, n]) AS "
            + _COLUMNS[index]
            + "\n}\n"
        )
    return (
        text
        + "CALL () {\n  MATCH (e:Entity) USING INDEX e:Entity(facet_multi)\n"
        + "  WHERE e.facet_multi = true"
        + (" AND " + _KINDS if by_kind else "")
        + """
  UNWIND range(0, size($counted_facets) - 1) AS i
  WITH e, i, $counted_facets[i] AS facet WHERE e[facet.prop] IS NULL
  UNWIND split(e.field_pairs, $items) AS p
  WITH i, facet, p WHERE p STARTS WITH facet.prefix
  WITH i, substring(p, size(facet.prefix)) AS value, count(*) AS n
  RETURN collect([i, value, n]) AS multi
}
"""
    )


def indexed_columns(paths: Sequence[str]) -> LiteralString:
    """The columns :func:`indexed_facets_calls` binds, comma-separated."""
    return ", ".join([*_COLUMNS[: len(paths)], "multi"])


def indexed_params(paths: Sequence[str], kinds: Sequence[str]) -> dict[str, Any]:
    return {
        "counted_facets": [
            {"prop": FACET_PROPERTIES[path], "prefix": path + PAIR_SEPARATOR} for path in paths
        ],
        "facet_kinds": list(kinds),
        "items": PAIRS_SEPARATOR,
    }


def indexed_counts(
    row: Mapping[str, Any], paths: Sequence[str]
) -> dict[str, list[tuple[str, int]]]:
    """Each of ``paths``' counts from a row of :func:`indexed_columns`, most frequent first."""
    counts = [
        Counter({str(value): int(n) for value, n in row[column]})
        for column in _COLUMNS[: len(paths)]
    ]
    for index, value, n in row["multi"]:
        counts[index][str(value)] += int(n)
    return {
        path: sorted(counted.items(), key=lambda pair: (-pair[1], pair[0]))
        for path, counted in zip(paths, counts, strict=True)
    }
