"""The one relation walk: from entities to the entities at the other end of their relations.

Relations are stored once, forward (``component:a dependsOn component:b``); seen from ``b``
the same row reads ``dependencyOf component:a`` (:data:`catalog.relations.RELATION_TYPES`
maps each forward name to its inverse). Every relation field of every kind walks here, by
forward or inverse name, optionally keeping only the other ends of one kind:

- :func:`related_refs`: the refs at the other end, each once, in key order (lowercased
  ref), from one batched relations load for all the keys given;
- :func:`related`: the entities at those refs (refs that are not entities left out), one
  more batched load;
- :func:`reachable_refs`: the same walk repeated level by level, cycle-safe, for fields
  that follow a relation transitively (``Group.descendants``).

Both answer at once, without awaiting, when the request's loaders hold everything already
(a listing preloads its page's relations and their forward targets with
:func:`preload_related`): an awaited field costs the executor a task, and a page has
hundreds. Otherwise they return an awaitable. Either way the store sees the same batches.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from inspect import isawaitable
from typing import TypeAlias, TypeVar

from catalog.relations import INVERSE_TYPES, RELATION_TYPES
from graph.port import StoredEntity, StoredRelation
from schema.context import Info

T = TypeVar("T")
U = TypeVar("U")
Resolved: TypeAlias = T | Awaitable[T]
"""What a resolver that answers at once when it can returns: the value, or an awaitable."""


def kind_of(ref: str) -> str:
    """The kind of a ref, lowercased."""
    return ref.split(":", 1)[0].lower()


def seen_from(key: str, row: StoredRelation) -> list[tuple[str, str]]:
    """(type as seen from ``key``, the ref at the other end); a self-relation gives both."""
    seen = []
    if row.source_ref.lower() == key:
        seen.append((row.type, row.target_ref))
    if row.target_ref.lower() == key:
        seen.append((RELATION_TYPES[row.type], row.source_ref))
    return seen


def refs_seen(
    keys: Sequence[str], rows_of: Sequence[Sequence[StoredRelation]], type_: str, kind: str | None
) -> list[str]:
    """The refs at the other end of ``type_`` relations of ``keys`` (``rows_of[i]`` are the
    relations touching ``keys[i]``), of ``kind`` when given, each once, in key order."""
    found: dict[str, str] = {}
    for key, rows in zip(keys, rows_of, strict=True):
        me = key.lower()
        for row in rows:
            for seen, other in seen_from(me, row):
                if seen == type_ and (kind is None or kind_of(other) == kind):
                    found.setdefault(other.lower(), other)
    return [found[key] for key in sorted(found)]


def then(value: Resolved[T], function: Callable[[T], U]) -> Resolved[U]:
    """``function`` applied to ``value``: at once when it is there, else once awaited."""
    if isawaitable(value):
        return _then(value, function)
    return function(value)


async def _then(value: Awaitable[T], function: Callable[[T], U]) -> U:
    return function(await value)


async def settled(value: Resolved[T]) -> T:
    """``value``, awaited when it has to be."""
    return await value if isawaitable(value) else value


def _check(type_: str) -> None:
    if type_ not in RELATION_TYPES and type_ not in INVERSE_TYPES:
        raise ValueError(f"unknown relation type {type_!r}: use a name from catalog.relations")


def related_refs(
    info: Info, keys: Sequence[str], type_: str, kind: str | None = None
) -> Resolved[list[str]]:
    """Refs at the other end of ``type_`` relations (forward or inverse name) of any of
    ``keys``, of ``kind`` when given (lowercase), each once, in key order."""
    _check(type_)
    loader = info.context.loaders.relations
    loaded = [loader.peek(key) for key in keys]
    if all(future is not None for future in loaded):
        rows_of = [future.result() for future in loaded if future is not None]
        return refs_seen(keys, rows_of, type_, kind)
    return _load_refs(info, keys, type_, kind)


async def _load_refs(info: Info, keys: Sequence[str], type_: str, kind: str | None) -> list[str]:
    rows_of = await info.context.loaders.relations.load_many(list(keys))
    return refs_seen(keys, rows_of, type_, kind)


async def reachable_refs(info: Info, key: str, type_: str, kind: str | None = None) -> list[str]:
    """Refs reached from ``key`` by following ``type_`` relations again and again (a Group's
    ``parentOf`` gives every group below it), each once, in key order, ``key`` itself left
    out; of ``kind`` when given. One batched relations load per level of the walk (the
    loads of sibling fields at the same level share it); a cycle ends the walk, since a ref
    already seen is not walked again."""
    seen = {key.lower()}
    found: dict[str, str] = {}
    frontier = [key.lower()]
    while frontier:
        refs = await settled(related_refs(info, frontier, type_, kind))
        frontier = []
        for ref in refs:
            lowered = ref.lower()
            if lowered not in seen:
                seen.add(lowered)
                found[lowered] = ref
                frontier.append(lowered)
    return [found[lowered] for lowered in sorted(found)]


def entities_at(info: Info, refs: Sequence[str]) -> Resolved[list[StoredEntity]]:
    """The entities at ``refs``, in that order; refs that are not entities are left out."""
    loader = info.context.loaders.entities
    found: list[StoredEntity] = []
    for ref in refs:
        loaded = loader.peek(ref)
        if loaded is None:
            return _load_entities(info, refs)
        stored = loaded.result()
        if stored is not None:
            found.append(stored)
    return found


async def _load_entities(info: Info, refs: Sequence[str]) -> list[StoredEntity]:
    found = await info.context.loaders.entities.load_many(list(refs))
    return [stored for stored in found if stored is not None]


def related(
    info: Info, keys: Sequence[str], type_: str, kind: str | None = None
) -> Resolved[list[StoredEntity]]:
    """The entities at the other end of ``type_`` relations of ``keys`` (see
    :func:`related_refs`); refs that are not entities are left out."""
    refs = related_refs(info, keys, type_, kind)
    if isawaitable(refs):
        return _related(info, refs)
    return entities_at(info, refs)


async def _related(info: Info, refs: Awaitable[list[str]]) -> list[StoredEntity]:
    return await settled(entities_at(info, await refs))


def related_one(
    info: Info, key: str, type_: str, kind: str | None = None
) -> Resolved[StoredEntity | None]:
    """The entity at the first ref :func:`related_refs` gives for ``key``; None when there
    is none or it is not an entity."""
    refs = related_refs(info, [key], type_, kind)
    if isawaitable(refs):
        return _related_one(info, refs)
    return _first(entities_at(info, refs[:1]))


async def _related_one(info: Info, refs: Awaitable[list[str]]) -> StoredEntity | None:
    return await settled(_first(entities_at(info, (await refs)[:1])))


def _first(found: Resolved[list[StoredEntity]]) -> Resolved[StoredEntity | None]:
    return then(found, lambda found: found[0] if found else None)


async def preload_related(info: Info, keys: list[str], skip: Collection[str] = ()) -> None:
    """Load the relations of ``keys`` and the entities their forward relations point at
    (except those of the types in ``skip``, which the request does not ask for: an API's
    document can be large), in two batches: the relation fields of a page's entities then
    answer without awaiting."""
    loaders = info.context.loaders
    rows_of = await loaders.relations.load_many(keys)
    targets = {
        row.target_ref.lower()
        for key, rows in zip(keys, rows_of, strict=True)
        for row in rows
        if row.type not in skip and row.source_ref.lower() == key.lower()
    }
    await loaders.entities.load_many(sorted(targets))
