"""Per-request DataLoaders: every resolver reads the store through these, so a request costs
a number of store queries that depends on the depth of the selection, never on how many
items it returns. Each batch function makes one store call and answers in key order."""

from __future__ import annotations

from asyncio import Future
from collections import defaultdict
from collections.abc import Sequence
from functools import cached_property
from typing import Protocol, TypeVar

from aiodataloader import DataLoader

from catalog.changes import EntityChange
from graph.port import (
    ChangeLog,
    Direction,
    EntityReader,
    RunLog,
    RunRecord,
    StoredEntity,
    StoredRelation,
)

T = TypeVar("T")


class LoaderStore(EntityReader, RunLog, ChangeLog, Protocol):
    """What the loaders read: entities and their relations, run records, and entity
    changes."""


def _finished(future: Future[T] | None) -> Future[T] | None:
    if future is None or not future.done() or future.cancelled() or future.exception():
        return None
    return future


class EntityLoader(DataLoader[str, StoredEntity | None]):
    """Entity by key (lowercased ref); None when no such entity exists."""

    def __init__(self, store: EntityReader) -> None:
        self._futures: dict[str, Future[StoredEntity | None]] = {}
        super().__init__(get_cache_key=str.lower, cache_map=self._futures)
        self.store = store

    def peek(self, key: str) -> Future[StoredEntity | None] | None:
        """The finished load of ``key``, if there is one (a resolver can then answer
        without awaiting); None when it was not loaded yet or failed."""
        return _finished(self._futures.get(key.lower()))

    async def batch_load_fn(self, keys: list[str]) -> list[StoredEntity | None]:
        found = await self.store.get_entities(keys)
        return [found.get(key.lower()) for key in keys]

    async def load_all(self, keys: Sequence[str]) -> list[StoredEntity | None]:
        """Entities by key, in key order: those already loaded from the cache, the others
        in one store call, now. For a question's thousands of results (an ownership
        roll-up, a dependency walk): ``load_many`` gives every key a future and gathers
        them, a callback scheduled per key, which cost more than the read itself. The
        entities read are not cached (nothing else in a request asks for them again)."""
        found: dict[str, StoredEntity | None] = {}
        missing: list[str] = []
        for key in keys:
            lowered = key.lower()
            loaded = _finished(self._futures.get(lowered))
            if loaded is not None:
                found[lowered] = loaded.result()
            else:
                missing.append(lowered)
        if missing:
            read = await self.store.get_entities(missing)
            for key in missing:
                found[key] = read.get(key)
        return [found[key.lower()] for key in keys]


class RelationsLoader(DataLoader[str, list[StoredRelation]]):
    """All stored relations touching an entity, in either direction."""

    def __init__(self, store: EntityReader) -> None:
        self._futures: dict[str, Future[list[StoredRelation]]] = {}
        super().__init__(get_cache_key=str.lower, cache_map=self._futures)
        self.store = store

    def peek(self, key: str) -> Future[list[StoredRelation]] | None:
        """The finished load of ``key``, if there is one (see :meth:`EntityLoader.peek`)."""
        return _finished(self._futures.get(key.lower()))

    async def batch_load_fn(self, keys: list[str]) -> list[list[StoredRelation]]:
        rows = await self.store.get_relations(keys, Direction.BOTH)
        by_key: dict[str, list[StoredRelation]] = defaultdict(list)
        for row in rows:
            source, target = row.source_ref.lower(), row.target_ref.lower()
            by_key[source].append(row)
            if target != source:
                by_key[target].append(row)
        return [by_key.get(key.lower(), []) for key in keys]


class OwnersLoader(DataLoader[str, list[str]]):
    """Refs an entity is ``ownedBy`` (only that relation: the impact of a hub asks for the
    owners of thousands of entities, and all their relations are ten times as many rows)."""

    def __init__(self, store: EntityReader) -> None:
        super().__init__(get_cache_key=str.lower)
        self.store = store

    async def batch_load_fn(self, keys: list[str]) -> list[list[str]]:
        rows = await self.store.get_relations(keys, Direction.OUT, ["ownedBy"])
        by_key: dict[str, list[str]] = defaultdict(list)
        for row in rows:
            by_key[row.source_ref.lower()].append(row.target_ref)
        return [by_key.get(key.lower(), []) for key in keys]


class RunLoader(DataLoader[str, RunRecord | None]):
    """Run records by id."""

    def __init__(self, store: RunLog) -> None:
        super().__init__()
        self.store = store

    async def batch_load_fn(self, ids: list[str]) -> list[RunRecord | None]:
        found = await self.store.runs_by_id(ids)
        return [found.get(run_id) for run_id in ids]


class HistoryLoader(DataLoader[tuple[str, int], list[EntityChange]]):
    """An entity's newest changes, newest first, by (key, how many): one store call per
    batch and count asked for."""

    def __init__(self, store: ChangeLog) -> None:
        super().__init__()
        self.store = store

    async def batch_load_fn(self, keys: list[tuple[str, int]]) -> list[list[EntityChange]]:
        by_limit: dict[int, list[str]] = defaultdict(list)
        for key, limit in keys:
            by_limit[limit].append(key.lower())
        found = {
            limit: await self.store.latest_changes(refs, limit) for limit, refs in by_limit.items()
        }
        return [found[limit].get(key.lower(), []) for key, limit in keys]


class Loaders:
    """A request's loaders, each made when first read (most requests read one or none)."""

    def __init__(self, store: LoaderStore) -> None:
        self._store = store

    @classmethod
    def for_store(cls, store: LoaderStore) -> Loaders:
        return cls(store)

    @cached_property
    def entities(self) -> EntityLoader:
        return EntityLoader(self._store)

    @cached_property
    def relations(self) -> RelationsLoader:
        return RelationsLoader(self._store)

    @cached_property
    def runs(self) -> RunLoader:
        return RunLoader(self._store)

    @cached_property
    def owners(self) -> OwnersLoader:
        return OwnersLoader(self._store)

    @cached_property
    def history(self) -> HistoryLoader:
        return HistoryLoader(self._store)
