"""Read-only catalog access for sources that link what they fetch to what is already there.

A CI or cloud source often knows a repository slug, a Jenkins job name or a tag value, not
the ref of the Component it belongs to. :class:`CatalogLookup` answers "which entities
carry this annotation, and with what value" in one paged scan per annotation, so a fetch
costs a few store reads however many jobs or repositories it links.
"""

from __future__ import annotations

from typing import Any

from graph.port import EntityFilter, GraphStore, SourceFile

PAGE = 500


class CatalogLookup:
    """What a fetch may read from the catalog (nothing it may write)."""

    def __init__(self, store: GraphStore | None) -> None:
        self._store = store
        self._cache: dict[tuple[str, str], dict[str, list[str]]] = {}

    async def source_files(self, source: str) -> dict[str, SourceFile] | None:
        """What the source's files produced last time (:class:`~graph.port.SourceFile`), by
        path; None with no store (nothing is kept then)."""
        if self._store is None:
            return None
        return await self._store.source_files(source)

    async def refs_by_annotation(self, key: str, kind: str = "component") -> dict[str, list[str]]:
        """Annotation value (lowercased) -> keys of the ``kind`` entities carrying it.

        One scan per (annotation, kind) per fetch; with no store (a dry run), empty.
        """
        cached = self._cache.get((key, kind))
        if cached is not None:
            return cached
        found: dict[str, list[str]] = {}
        after: str | None = None
        while self._store is not None:
            page = await self._store.list_entities(
                EntityFilter(kinds=(kind,), annotation=(key, None)), PAGE, after
            )
            for entity in page.entities:
                annotations = entity.document.get("metadata", {}).get("annotations", {})
                value = annotations.get(key)
                if isinstance(value, str) and value:
                    found.setdefault(value.strip().lower(), []).append(entity.key)
            if not page.has_next:
                break
            after = page.last_key
        self._cache[(key, kind)] = found
        return found

    async def documents_annotated(
        self, key: str, value: str, kind: str, source: str | None = None
    ) -> list[dict[str, Any]]:
        """The documents of the ``kind`` entities whose annotation ``key`` is ``value``
        (of ``source`` only, when given), in key order; with no store, none."""
        found: list[dict[str, Any]] = []
        after: str | None = None
        query = EntityFilter(kinds=(kind,), annotation=(key, value), source=source)
        while self._store is not None:
            page = await self._store.list_entities(query, PAGE, after)
            found.extend(entity.document for entity in page.entities)
            if not page.has_next:
                break
            after = page.last_key
        return found

    async def documents(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        """The stored documents of ``keys`` (absent ones left out); with no store, none."""
        if self._store is None or not keys:
            return {}
        found = await self._store.get_entities(keys)
        return {key: entity.document for key, entity in found.items()}
