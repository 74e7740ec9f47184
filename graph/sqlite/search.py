"""Search in SQL: the full-text matches (FTS5) and the entity the text names as a ref, and
the ranking of :mod:`graph.search` as one sort expression over them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graph.search import KIND_ORDER, OTHER_KIND, TIER_STEP, fts5_query, search_rank
from graph.sqlite.rows import json_list

_KIND_RANK = (
    "CASE e.kind "
    + " ".join(f"WHEN '{kind}' THEN {rank}" for rank, kind in enumerate(KIND_ORDER))
    + f" ELSE {OTHER_KIND} END"
)
_PREFIX = (
    "(substr(lower(e.name), 1, length(:search_text)) = :search_text "
    "OR substr(lower(coalesce(e.title, '')), 1, length(:search_text)) = :search_text)"
)
#: graph.search.relevance in SQL, over ``entities e`` left-joined to the bm25 rank ``s``.
RELEVANCE = (
    "((CASE WHEN e.key IN (SELECT value FROM json_each(:search_keys)) "
    "OR lower(e.name) = :search_text OR lower(coalesce(e.title, '')) = :search_text "
    f"THEN {_KIND_RANK} "
    "WHEN e.kind IN (SELECT value FROM json_each(:demoted)) "
    f"THEN CASE WHEN {_PREFIX} THEN {3 * TIER_STEP} + {_KIND_RANK} ELSE {4 * TIER_STEP} END "
    f"ELSE CASE WHEN {_PREFIX} THEN {TIER_STEP} + {_KIND_RANK} ELSE {2 * TIER_STEP} END END) "
    "+ 0.5 / (1.0 + max(-coalesce(s.rank, 0.0), 0.0)))"
)


def search_sql(text: str, kinds: Sequence[str], params: dict[str, Any]) -> str:
    """The condition over ``entities e`` that ``text`` matches, adding its parameters (those
    :data:`RELEVANCE` reads too) to ``params``; kinds are the filter's, which the ranking reads."""
    query = fts5_query(text)
    if query is None:
        return "0 = 1"
    rank = search_rank(text, kinds)
    params.update(
        search=query,
        search_keys=json_list(rank.keys),
        search_text=rank.text,
        demoted=json_list(rank.demoted),
    )
    return (
        "(e.key IN (SELECT key FROM entity_search WHERE entity_search MATCH :search) "
        "OR e.key IN (SELECT value FROM json_each(:search_keys)))"
    )
