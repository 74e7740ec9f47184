"""Search: the user's text as full-text query syntax (without letting syntax through), and the
ranking both stores apply to the matches, for search-as-you-type.

What matches: every word token of the text as a prefix of some word of the name, title,
description or tags (the full-text index), or the text naming the entity's ref
(``component:shipment-tracker``, ``component:default/shipment-tracker``).

How matches rank (:class:`SearchRank`; lower first), tier by tier:

0. an exact match: the text is the entity's ref, name or title (any case);
1. a catalog kind whose name or title starts with the text;
2. any other match of a catalog kind;
3. and 4. the same as 1 and 2 for the CI event kinds (:data:`EVENT_KINDS`: builds and
   deployments, which repeat their component's name many times over), unless the filter
   asks for those kinds, when they rank as catalog kinds.

Within tiers 0, 1 and 3 the kinds go in :data:`KIND_ORDER` (a component before the API,
system or team of the same name, as Backstage's catalog opens on components); within every
tier the full-text rank (bm25 on SQLite, Lucene's score on Neo4j, name weighing most)
breaks ties. The stores fold this into one number (:func:`relevance`), so a listing's
keyset cursor stays a (number, key) pair.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from catalog.errors import InvalidRefError
from catalog.refs import parse_ref

_TOKEN = re.compile(r"[\w]+", re.UNICODE)
MAX_TOKENS = 16

#: Kinds that are events of CI: ranked after the catalog's kinds unless asked for.
EVENT_KINDS = ("build", "deployment")
#: The order of kinds within a tier of exact and prefix matches; other kinds follow.
KIND_ORDER = (
    "component",
    "api",
    "system",
    "resource",
    "domain",
    "group",
    "user",
    "template",
    "location",
)
#: The rank of a kind not in :data:`KIND_ORDER`.
OTHER_KIND = len(KIND_ORDER)
#: Tiers are this far apart in :func:`relevance`, so kind ranks never cross them.
TIER_STEP = 100


def search_tokens(text: str) -> list[str]:
    """Word tokens of ``text``, lowercased; punctuation and query operators are dropped."""
    return [t.lower() for t in _TOKEN.findall(text)][:MAX_TOKENS]


def fts5_query(text: str) -> str | None:
    """An FTS5 query matching every token as a prefix, or None when nothing is searchable."""
    tokens = search_tokens(text)
    if not tokens:
        return None
    return " AND ".join(f'"{t}"*' for t in tokens)


def lucene_query(text: str) -> str | None:
    """A Lucene query (Neo4j full-text index) matching every token as a prefix."""
    tokens = search_tokens(text)
    if not tokens:
        return None
    return " AND ".join(f"{t}*" for t in tokens)


def named_keys(text: str) -> list[str]:
    """The entity keys ``text`` names as a ref with a kind (``kind:name`` or
    ``kind:namespace/name``); none for anything else."""
    if ":" not in text:
        return []
    try:
        return [parse_ref(text).key]
    except InvalidRefError:
        return []


@dataclass(frozen=True)
class SearchRank:
    """What a store needs to rank a search's matches (see the module docstring).

    ``text``: the search text, trimmed and lowercased (exact and prefix matches compare
    with it); ``keys``: the refs it names; ``demoted``: the event kinds ranked after the
    catalog kinds for this filter.
    """

    text: str
    keys: tuple[str, ...]
    demoted: tuple[str, ...]


def search_rank(text: str, kinds: Sequence[str] = ()) -> SearchRank:
    """The ranking of a search for ``text`` under a filter on ``kinds`` (any case)."""
    asked = {k.lower() for k in kinds}
    return SearchRank(
        text=text.strip().lower(),
        keys=tuple(named_keys(text)),
        demoted=tuple(k for k in EVENT_KINDS if k not in asked),
    )


def kind_rank(kind: str) -> int:
    """A kind's place in :data:`KIND_ORDER` (:data:`OTHER_KIND` when not there)."""
    kind = kind.lower()
    return KIND_ORDER.index(kind) if kind in KIND_ORDER else OTHER_KIND


def relevance(tier: int, kind: str, text_score: float) -> float:
    """The sort value (lower first) of a match in ``tier`` of kind ``kind`` with the full-text
    score ``text_score`` (bm25's negated rank or Lucene's score: higher is better, 0 when the
    match came from a ref alone). The stores compute the same in SQL and Cypher; this is
    their specification (and their tests' oracle)."""
    by_kind = kind_rank(kind) if tier in (0, 1, 3) else 0
    return tier * TIER_STEP + by_kind + 0.5 / (1.0 + max(text_score, 0.0))
