"""Apollo's automatic persisted queries: a client sends the SHA-256 of a document instead of
the document, and the document once when the server does not know the hash yet.

The protocol (``extensions.persistedQuery = {"version": 1, "sha256Hash": "<64 hex>"}``):

- hash without ``query``: the known document runs; an unknown hash is answered
  ``{"errors": [{"message": "PersistedQueryNotFound", "extensions": {"code":
  "PERSISTED_QUERY_NOT_FOUND"}}]}`` (status 200), and the client sends the hash again with
  the document;
- hash with ``query``: the document must hash to it (else 400, ``provided sha does not match
  query``); it is remembered and runs.

Each worker process remembers the last :data:`DEFAULT_SIZE` documents (least recently used
go first); a worker that has not seen a hash answers ``PersistedQueryNotFound`` and the
client's retry teaches it. The document limits (:mod:`schema.scan`, :mod:`schema.limits`)
apply to a document found by its hash exactly as to one sent in full.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from api.graphql_request import RequestError

DEFAULT_SIZE = 1000
NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
_HASH = re.compile(r"[0-9a-f]{64}")


class PersistedQueries:
    """The documents this process knows by hash (a bounded LRU)."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self._size = size
        self._documents: OrderedDict[str, str] = OrderedDict()

    def document(self, query: str | None, extensions: Mapping[str, Any] | None) -> str | None:
        """The document to run: ``query`` itself without a ``persistedQuery`` extension;
        else the one known by its hash (remembering ``query`` under it when sent)."""
        persisted = (extensions or {}).get("persistedQuery")
        if persisted is None:
            return query
        digest = _hash_of(persisted)
        if query is None:
            known = self._documents.get(digest)
            if known is None:
                raise RequestError("PersistedQueryNotFound", code=NOT_FOUND, status=200)
            self._documents.move_to_end(digest)
            return known
        if hashlib.sha256(query.encode()).hexdigest() != digest:
            raise RequestError(
                "provided sha does not match query: `extensions.persistedQuery.sha256Hash` "
                "must be the SHA-256 (hex) of the UTF-8 `query`"
            )
        self._documents[digest] = query
        self._documents.move_to_end(digest)
        while len(self._documents) > self._size:
            self._documents.popitem(last=False)
        return query


def _hash_of(persisted: object) -> str:
    if not isinstance(persisted, Mapping):
        raise RequestError(
            '`extensions.persistedQuery` must be an object like {"version": 1, '
            '"sha256Hash": "<64 hex digits>"}'
        )
    if persisted.get("version", 1) != 1:
        raise RequestError("`extensions.persistedQuery.version` must be 1 (the only version)")
    digest = persisted.get("sha256Hash")
    if not isinstance(digest, str) or not _HASH.fullmatch(digest.lower()):
        raise RequestError(
            "`extensions.persistedQuery.sha256Hash` must be the SHA-256 of the document, "
            "64 hex digits"
        )
    return digest.lower()
