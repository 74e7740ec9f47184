"""What a source holds in a store, read back through the port as sets, and how two such
readings must relate after a fault (the source-fault runs' expectations)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import orjson

from graph.port import Direction, EntityFilter, GraphStore

Relation = tuple[str, str, str]


@dataclass(frozen=True)
class StoreSets:
    """A source's entities (key -> content hash, key -> full document as canonical JSON) and
    the relations in the store as (source key, type, target key)."""

    hashes: dict[str, str]
    documents: dict[str, str]
    relations: frozenset[Relation]

    @property
    def keys(self) -> set[str]:
        return set(self.hashes)


async def read_sets(store: GraphStore, source: str) -> StoreSets:
    hashes: dict[str, str] = {}
    documents: dict[str, str] = {}
    after: str | None = None
    while True:
        page = await store.list_entities(EntityFilter(source=source), 500, after)
        for entity in page.entities:
            hashes[entity.key] = entity.hash
            documents[entity.key] = orjson.dumps(
                entity.document, option=orjson.OPT_SORT_KEYS
            ).decode()
        if not page.has_next:
            break
        after = page.last_key
    relations: set[Relation] = set()
    keys = sorted(hashes)
    for start in range(0, len(keys), 500):
        for rel in await store.get_relations(keys[start : start + 500], Direction.OUT):
            relations.add((rel.source_ref.lower(), rel.type, rel.target_ref.lower()))
    position: tuple[str, str, str] | None = None
    while True:  # relations with a missing end (a missing source is found only here)
        dangling = await store.dangling(500, position)
        for rel in dangling.relations:
            relations.add((rel.source_ref.lower(), rel.type, rel.target_ref.lower()))
        if not dangling.has_next or not dangling.relations:
            break
        last = dangling.relations[-1]
        position = (last.source_ref.lower(), last.type, last.target_ref.lower())
    return StoreSets(hashes, documents, frozenset(relations))


def lost(expected: StoreSets, actual: StoreSets) -> set[str]:
    """Entities the expectation keeps that the store no longer has."""
    return expected.keys - actual.keys


def same_entities(expected: StoreSets, actual: StoreSets) -> list[str]:
    """Differences in (key, content hash) and relations, described; [] when equal."""
    problems = []
    if missing := expected.keys - actual.keys:
        problems.append(f"{len(missing)} entities missing, e.g. {sorted(missing)[:5]}")
    if extra := actual.keys - expected.keys:
        problems.append(f"{len(extra)} unexpected entities, e.g. {sorted(extra)[:5]}")
    changed = sorted(
        k for k in expected.keys & actual.keys if expected.hashes[k] != actual.hashes[k]
    )
    if changed:
        problems.append(f"{len(changed)} entities with other content, e.g. {changed[:5]}")
    problems += _relation_differences(expected.relations, actual.relations)
    return problems


#: The commit in a git location annotation (``git:REPO@<sha>:path``). A file unchanged since
#: the last run is not read again (README, "Keeping it live"), so its entities keep the
#: commit they were read at, while a fresh ingest writes the newest: everything else in the
#: document must be the same.
_COMMIT = re.compile(r"@[0-9a-f]{40}:")


def _without_commits(document: str) -> str:
    return _COMMIT.sub("@<commit>:", document)


def same_as_fresh(fresh: StoreSets, actual: StoreSets) -> list[str]:
    """:func:`same_entities`, and every document as a fresh ingest wrote it (but for the
    commit in location annotations of files that did not change)."""
    problems = same_entities(fresh, actual)
    documents = sorted(
        k
        for k in fresh.keys & actual.keys
        if _without_commits(fresh.documents[k]) != _without_commits(actual.documents[k])
    )
    if documents:
        problems.append(f"{len(documents)} documents differ from a fresh ingest: {documents[:5]}")
    return problems


def _relation_differences(expected: frozenset[Relation], actual: frozenset[Relation]) -> list[str]:
    problems = []
    if missing := expected - actual:
        problems.append(f"{len(missing)} relations missing, e.g. {sorted(missing)[:3]}")
    if extra := actual - expected:
        problems.append(f"{len(extra)} unexpected relations, e.g. {sorted(extra)[:3]}")
    return problems


def consistency_problems(before: StoreSets, after: StoreSets, actual: StoreSets) -> list[str]:
    """What is wrong with a store caught between a run that read ``before`` and one that
    would write ``after`` (a fresh ingest's sets): every entity and relation is one of the
    two versions, nothing both versions have is missing, no relation starts at a missing
    entity or ends at a missing one that either version has."""
    problems = []
    keys = actual.keys
    if missing := (before.keys & after.keys) - keys:
        problems.append(f"{len(missing)} entities of both versions missing: {sorted(missing)[:5]}")
    if unknown := keys - before.keys - after.keys:
        problems.append(f"{len(unknown)} entities of neither version: {sorted(unknown)[:5]}")
    mixed = sorted(
        k
        for k in keys
        if actual.hashes[k] != before.hashes.get(k) and actual.hashes[k] != after.hashes.get(k)
    )
    if mixed:
        problems.append(f"{len(mixed)} entities with content of neither version: {mixed[:5]}")
    if stray := actual.relations - before.relations - after.relations:
        problems.append(f"{len(stray)} relations of neither version: {sorted(stray)[:3]}")
    broken = sorted(
        r
        for r in actual.relations
        if r[0] not in keys or (r[2] not in keys and not _dangles_in(r, before, after))
    )
    if broken:
        problems.append(f"{len(broken)} relations to or from a missing entity: {broken[:3]}")
    return problems


def _dangles_in(relation: Relation, *versions: StoreSets) -> bool:
    """Whether some version has this relation with its target missing too."""
    return any(relation in v.relations and relation[2] not in v.keys for v in versions)
