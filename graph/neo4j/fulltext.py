"""Backstage's full-text filter (``fullTextFilterTerm``) read through an index.

What the catalog page's search box sends matches a term in the name, title and display
name (:data:`INDEXED_PATHS`). Each entity keeps the lowercased values at those paths, one
a line, in the property :data:`PROPERTY` under a TEXT index, so that the entities such a
filter may match are an index seek (``CONTAINS``) instead of a test of every entity of the
kind. The seek finds a superset (a term could span two lines); the filter's own condition
(:data:`TEXT_FILTER`) still decides each candidate, so answers are
unchanged. A filter naming any other path tests the entities one by one, as before.

The property is written with an entity's searchable fields (:func:`text_props`, called
from :func:`graph.neo4j.rows.field_props`) and, for entities written before it was kept,
computed at setup from their stored fields (:func:`backfill`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, LiteralString

from graph.conditions import PAIR_SEPARATOR
from graph.neo4j.connection import Connection
from graph.port import TextFilter

#: The paths whose values the index holds (lowercase, as in ``field_lpairs``).
INDEXED_PATHS: frozenset[str] = frozenset(
    {"metadata.name", "metadata.title", "spec.profile.displayname"}
)
_PREFIXES = tuple(path + PAIR_SEPARATOR for path in sorted(INDEXED_PATHS))

#: The node property: the lowercased values at :data:`INDEXED_PATHS`, one a line.
PROPERTY: LiteralString = "text_values"

INDEX: LiteralString = (
    "CREATE TEXT INDEX entity_text_values IF NOT EXISTS FOR (n:Entity) ON (n.text_values)"
)

#: Some value at one of ``$text_prefixes`` (path<SEP>) contains ``$text_term`` (both
#: lowercased). ``field_lpairs`` is one string, its pairs joined by ``$items``
#: (:func:`graph.neo4j.schema.joined`): the whole string is tested first, most entities fail
#: that native test, and only the pairs of the few that pass are split.
TEXT_FILTER: LiteralString = """e.field_lpairs CONTAINS $text_term
  AND ANY(p IN split(e.field_lpairs, $items) WHERE p CONTAINS $text_term
  AND ANY(tp IN $text_prefixes WHERE p STARTS WITH tp AND substring(p, size(tp)) CONTAINS $text_term))"""

#: The query head seeking the candidates through the index, and their condition.
SOURCE: LiteralString = "MATCH (e:Ref:Entity) USING TEXT INDEX e:Entity(text_values)"
CONDITION: LiteralString = "e.text_values CONTAINS $text_term"


def indexed(text: TextFilter) -> bool:
    """Whether the index holds every value ``text`` may match."""
    return all(path.lower() in INDEXED_PATHS for path in text.paths)


def conditions(text: TextFilter) -> tuple[LiteralString, ...]:
    """The conditions of ``text`` over ``e``: the index's superset test where it applies
    (so the planner may seek with it), then the exact test."""
    return (CONDITION, TEXT_FILTER) if indexed(text) else (TEXT_FILTER,)


def params(text: TextFilter) -> dict[str, Any]:
    """The parameters of :func:`conditions`."""
    return {
        "text_prefixes": [p.lower() + PAIR_SEPARATOR for p in text.paths],
        "text_term": text.term.lower(),
    }


def text_props(lpairs: Sequence[str]) -> dict[str, Any]:
    """:data:`PROPERTY` of an entity from its ``field_lpairs`` (``path<SEP>value``)."""
    values = [p.split(PAIR_SEPARATOR, 1)[1] for p in lpairs if p.startswith(_PREFIXES)]
    return {PROPERTY: "\n".join(values)}


ENTITIES_WITHOUT_TEXT: LiteralString = """
MATCH (e:Entity) WHERE e.text_values IS NULL AND e.field_lpairs IS NOT NULL
WITH e LIMIT $limit
RETURN collect([e.key, e.field_lpairs]) AS entities
"""
SET_TEXT: LiteralString = """
UNWIND $rows AS row
MATCH (e:Ref {key: row.key})
SET e.text_values = row.text
"""


async def backfill(db: Connection, separator: str, batch: int = 2000) -> None:
    """Give entities written before :data:`PROPERTY` was kept theirs (run after their
    searchable fields are backfilled and joined by ``separator``)."""
    while True:
        (row,) = await db.read(db.statement(ENTITIES_WITHOUT_TEXT, limit=batch))
        if not row["entities"]:
            return
        rows = [
            {"key": key, "text": text_props(_pairs(lpairs, separator))[PROPERTY]}
            for key, lpairs in row["entities"]
        ]
        await db.write(db.statement(SET_TEXT, rows=rows))


def _pairs(stored: str | list[str], separator: str) -> list[str]:
    """The pairs of a stored ``field_lpairs``: a joined string (a list if written before)."""
    return stored if isinstance(stored, list) else [p for p in stored.split(separator) if p]
