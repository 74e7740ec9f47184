"""Facets: how many of the matching entities have each value of a field.

A counted path (:data:`~graph.sqlite.schema.COUNTED_PATHS`: kind, namespace, tags, type,
lifecycle, owner) under a filter of kinds at most (none, ``kind=...``:
:func:`graph.conditions.kinds_only`; Backstage's pickers ask
``facet=spec.type&filter=kind=component``) is read from its counts (``field_counts``, kept
by triggers), a few rows whatever the number of entities; any other path, or under any
other filter, is counted over the matching entities' fields or relations.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from graph.conditions import Match, kinds_only, resolve
from graph.errors import StoreError
from graph.port import FACET_FIELDS, EntityFilter, FieldCondition
from graph.sqlite.connection import Connection
from graph.sqlite.reads import _filter_sql
from graph.sqlite.rows import json_list
from graph.sqlite.schema import COUNTED_PATHS

#: facet field -> (value expression, joins) over ``entities e``.
_FACETS: dict[str, tuple[str, str]] = {
    "kind": ("e.kind", ""),
    "namespace": ("e.namespace", ""),
    "spec.type": ("e.spec_type", ""),
    "spec.lifecycle": ("e.lifecycle", ""),
    "metadata.tags": ("t.value", "JOIN json_each(e.tags) t"),
    "owner": (
        "o.target_ref",
        "JOIN relations o ON o.source_key = e.key AND o.type = 'ownedBy'",
    ),
    "source": ("e.source", ""),
}
#: summary facet -> the counted path (``field_counts``) and the column giving its value
_COUNTED_SUMMARY = {
    "kind": ("kind", "kind"),
    "spec.type": ("spec.type", "value"),
    "spec.lifecycle": ("spec.lifecycle", "value"),
}


def _counted_arm(column: str, path_param: str, kinds: Sequence[str], params: dict[str, Any]) -> str:
    """The counts of one counted path (``field_counts``) over ``kinds`` (none: all)."""
    where = f"path = :{path_param}"
    if kinds:
        params["counted_kinds"] = json_list(kinds)
        where += " AND kind IN (SELECT value FROM json_each(:counted_kinds))"
    return (
        f"SELECT {column} AS value, sum(n) AS n FROM field_counts WHERE {where} "
        f"GROUP BY {column} HAVING sum(n) > 0"
    )


async def facets(
    db: Connection, fields: Sequence[str], flt: EntityFilter, limit: int = 100
) -> dict[str, list[tuple[str, int]]]:
    """Kind, type and lifecycle from the counts (``field_counts``) when ``flt`` asks for
    kinds at most; the others, or under other filters, over the matching entities."""
    unknown = [f for f in fields if f not in _FACETS]
    if unknown:
        raise StoreError(f"unknown facet fields {unknown}; use {', '.join(FACET_FIELDS)}")
    where, params = _filter_sql(flt)
    params["limit"] = limit
    kinds = kinds_only(flt)

    def read(conn: sqlite3.Connection) -> dict[str, list[tuple[str, int]]]:
        found: dict[str, list[tuple[str, int]]] = {}
        for field_name in dict.fromkeys(fields):
            if kinds is not None and field_name in _COUNTED_SUMMARY:
                path, column = _COUNTED_SUMMARY[field_name]
                sql = _counted_arm(column, "path", kinds, params) + " ORDER BY n DESC, value"
                sql += " LIMIT :limit"
                rows = db.execute(conn, sql, {**params, "path": path}).fetchall()
            else:
                value, joins = _FACETS[field_name]
                sql = (
                    f"SELECT {value} AS value, count(*) AS n FROM entities e {joins} "
                    f"WHERE {where} AND {value} IS NOT NULL "
                    "GROUP BY 1 ORDER BY n DESC, value LIMIT :limit"
                )
                rows = db.execute(conn, sql, params).fetchall()
            found[field_name] = [(str(v), int(n)) for v, n in rows]
        return found

    return await db.call(read)


async def field_facets(
    db: Connection, paths: Sequence[str], flt: EntityFilter
) -> dict[str, list[tuple[str, int]]]:
    """One statement: each path's counts are one arm of a UNION ALL over the matching keys;
    a counted path (:data:`~graph.sqlite.schema.COUNTED_PATHS`) under a filter of kinds at
    most is read from its counts (``field_counts``)."""
    wanted = list(dict.fromkeys(paths))
    if not wanted:
        return {}
    where, params = _filter_sql(flt)
    kinds = kinds_only(flt)
    # Unfiltered, every entity matches: its fields need no look-up in the list of them (a
    # relation does: its far end may be no entity).
    fields_matched = "" if where == "1 = 1" else "AND f.key IN (SELECT key FROM matched) "
    arms = []
    for i, path in enumerate(wanted):
        condition = resolve(FieldCondition(path))
        if condition.match is Match.NEVER:
            continue
        if condition.match is Match.FIELD:
            params[f"facet_{i}"] = condition.path
            if kinds is not None and condition.path in COUNTED_PATHS:
                arms.append(
                    f"SELECT {i} AS facet, * FROM ({_counted_arm('value', f'facet_{i}', kinds, params)})"
                )
                continue
            arms.append(
                f"SELECT {i} AS facet, f.original AS value, count(DISTINCT f.key) AS n "
                f"FROM entity_fields f WHERE f.path = :facet_{i} AND f.original IS NOT NULL "
                + fields_matched
                + "GROUP BY f.original"
            )
            continue
        params[f"facet_{i}"] = condition.rel_type
        near, far = ("source", "target") if condition.match is Match.OUT else ("target", "source")
        arms.append(
            f"SELECT {i} AS facet, r.{far}_ref AS value, count(DISTINCT r.{near}_key) AS n "
            f"FROM relations r WHERE r.type = :facet_{i} "
            f"AND r.{near}_key IN (SELECT key FROM matched) GROUP BY r.{far}_ref"
        )
    found: dict[str, list[tuple[str, int]]] = {path: [] for path in wanted}
    if not arms:
        return found
    sql = (
        f"WITH matched AS (SELECT e.key FROM entities e WHERE {where}) "
        + " UNION ALL ".join(arms)
        + " ORDER BY facet, n DESC, value"
    )

    def read(conn: sqlite3.Connection) -> None:
        for facet, value, n in db.execute(conn, sql, params).fetchall():
            found[wanted[facet]].append((str(value), int(n)))

    await db.call(read)
    return found
