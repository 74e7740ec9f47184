"""Turning a user's search text into full-text query syntax without letting syntax through."""

from __future__ import annotations

import re

_TOKEN = re.compile(r"[\w]+", re.UNICODE)
MAX_TOKENS = 16


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
