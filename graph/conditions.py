"""Backstage filter conditions as both stores read them: what a
:class:`~graph.port.FieldCondition` asks of an entity, with names and values normalised.

- ``relations.<type>``: a relation of that type. A forward type (``ownedBy``) is a stored
  relation out of the entity (``OUT``); an inverse type (``ownerOf``) a stored relation of
  the forward type into it (``IN``). The values are the refs at the other end. An unknown
  type matches nothing (``NEVER``), as no entity has such a relation.
- any other path: one of the entity's searchable fields (:mod:`graph.fields`), ``FIELD``.

A negated condition holds exactly when the condition would not (an unknown relation type's
negation holds for every entity). Paths and values are lowercased (Backstage matches
case-insensitively).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence
from dataclasses import dataclass

from catalog.relations import ALL_TYPES, normalize_type
from graph.port import EntityFilter, FieldCondition

RELATIONS_PREFIX = "relations."
_TYPES = {name.lower(): name for name in ALL_TYPES}
#: What separates a path from its value in the stored ``path<SEP>value`` pairs (Neo4j).
PAIR_SEPARATOR = "\u001f"


class Match(enum.Enum):
    FIELD = "field"
    OUT = "out"
    IN = "in"
    NEVER = "never"


@dataclass(frozen=True)
class Condition:
    """A resolved condition: ``path`` for FIELD, the forward ``rel_type`` for OUT/IN."""

    match: Match
    path: str = ""
    rel_type: str = ""
    values: tuple[str, ...] = ()
    negated: bool = False

    @property
    def pairs(self) -> list[str]:
        """The ``path<SEP>value`` pairs any of which satisfies a FIELD condition."""
        return [self.path + PAIR_SEPARATOR + value for value in self.values]


def resolve(condition: FieldCondition) -> Condition:
    path = condition.path.strip().lower()
    values = tuple(dict.fromkeys(v.strip().lower() for v in condition.values))
    if path.startswith(RELATIONS_PREFIX):
        name = _TYPES.get(path.removeprefix(RELATIONS_PREFIX))
        if name is None:
            return Condition(Match.NEVER, path, negated=condition.negated)
        forward, inverse = normalize_type(name)
        match = Match.IN if inverse else Match.OUT
        return Condition(match, path, forward, values, condition.negated)
    return Condition(Match.FIELD, path, values=values, negated=condition.negated)


def resolve_sets(any_of: Sequence[Sequence[FieldCondition]]) -> list[list[Condition]]:
    return [[resolve(c) for c in conditions] for conditions in any_of]


def required_kinds(sets: Sequence[Sequence[Condition]]) -> list[str] | None:
    """Kinds every match must have, when each filter set names its kinds (``kind=...``);
    None otherwise. Stores add it as a condition their kind index can answer."""
    if not sets:
        return None
    kinds: list[str] = []
    for conditions in sets:
        named = [
            c.values
            for c in conditions
            if c.match is Match.FIELD and c.path == "kind" and not c.negated
        ]
        if not named or not named[0]:
            return None
        kinds += named[0]
    return list(dict.fromkeys(kinds))


_NO_FILTER = EntityFilter()


def kinds_only(flt: EntityFilter) -> tuple[str, ...] | None:
    """The kinds (lowercased) ``flt`` keeps when kinds are all it asks for: ``()`` when it
    keeps every entity, the kinds for ``kinds=...`` or filter sets that are each one
    ``kind=...`` condition (Backstage's pickers: ``facet=spec.type&filter=kind=component``);
    None when it asks anything else. Stores answer such a filter's facets from counts."""
    if dataclasses.replace(flt, kinds=(), any_of=()) != _NO_FILTER:
        return None
    if flt.kinds and flt.any_of:
        return None
    if flt.kinds:
        return tuple(dict.fromkeys(k.lower() for k in flt.kinds))
    if any(len(conditions) != 1 for conditions in flt.any_of):
        return None
    kinds = required_kinds(resolve_sets(flt.any_of))
    if flt.any_of and kinds is None:
        return None
    return tuple(kinds or ())
