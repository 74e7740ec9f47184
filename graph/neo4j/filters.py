"""The Cypher of listings: an :class:`~graph.port.EntityFilter` as a query head (full-text
search included), a page in each :class:`~graph.port.Order`, counts and facets.

Only field names from the fixed tables below and validated integers reach the text; every
value is a parameter. Builders return ``LiteralString`` so the type checker sees that no
value was pasted in.

long: the query head, each listing order and the counts share the filter's conditions and
their parameters; kept together so that one reading shows what a filter costs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, LiteralString

from graph.conditions import Condition, Match, required_kinds, resolve_sets
from graph.neo4j import fulltext
from graph.neo4j.rows import ENTITY_FIELDS, annotation_pair, lookup_keys
from graph.neo4j.schema import PAIRS_SEPARATOR, REL_TYPES, annotation_key, item
from graph.port import EntityFilter, Order
from graph.search import KIND_ORDER, OTHER_KIND, TIER_STEP, search_rank, search_tokens

#: Full-text fields with boosts mirroring the SQLite adapter's bm25 weights.
SEARCH_FIELDS: tuple[tuple[str, int], ...] = (
    ("name", 10),
    ("title", 5),
    ("description", 1),
    ("tags_text", 3),
)


def search_query(text: str) -> str | None:
    """A Lucene query for the ``entity_search`` index: every token of ``text`` as a prefix
    in some field, name and title weighing most; None when nothing is searchable."""
    tokens = search_tokens(text)
    if not tokens:
        return None
    fields = " OR ".join(f"{name}:{{t}}*^{boost}" for name, boost in SEARCH_FIELDS)
    return " AND ".join("(" + fields.format(t=token) + ")" for token in tokens)


@dataclass(frozen=True)
class EntityMatch:
    """The head of a query over the entities matching a filter: ``source`` binds ``e`` (and
    ``score`` when searching), ``conditions`` must all hold."""

    source: LiteralString
    conditions: tuple[LiteralString, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    #: Every match's key lies in ``[$key_from, $key_to)`` (its kinds' ``kind:`` prefixes).
    key_range: bool = False

    def clause(self, *more: LiteralString) -> LiteralString:
        """``source WHERE ...`` with the filter's conditions and ``more``."""
        conditions = (*more, *self.conditions)
        if not conditions:
            return self.source
        return self.source + " WHERE " + " AND ".join(conditions)


def entity_match(flt: EntityFilter) -> EntityMatch | None:
    """The query head for ``flt``, or None when nothing can match (an empty search).
    ``$items`` is always the separator of joined lists (:mod:`graph.neo4j.schema`)."""
    params: dict[str, Any] = {"items": PAIRS_SEPARATOR}
    conditions: list[LiteralString] = []
    if flt.search is None:
        source: LiteralString = PLAIN_SOURCE
    else:
        query = search_query(flt.search)
        if query is None:
            return None
        rank = search_rank(flt.search, flt.kinds)
        params.update(
            search=query,
            search_keys=list(rank.keys),
            search_text=rank.text,
            demoted=list(rank.demoted),
            kind_rank={kind: i for i, kind in enumerate(KIND_ORDER)},
            other_kind=OTHER_KIND,
            tier=TIER_STEP,
        )
        source = SEARCH_SOURCE
    if flt.kinds:
        conditions.append("e.kind IN $kinds")
        params["kinds"] = lookup_keys(flt.kinds)
    if flt.namespace is not None:
        conditions.append("toLower(e.namespace) = $namespace")
        params["namespace"] = flt.namespace.lower()
    if flt.owner_keys:
        conditions.append("EXISTS { MATCH (e)-[:OWNED_BY]->(o:Ref) WHERE o.key IN $owners }")
        params["owners"] = lookup_keys(flt.owner_keys)
    if flt.tag is not None:
        conditions.append("$tag IN e.tags")
        params["tag"] = flt.tag.lower()
    if flt.source is not None:
        conditions.append("e.source = $source")
        params["source"] = flt.source
    if flt.types:
        conditions.append("e.spec_type IN $types")
        params["types"] = list(flt.types)
    if flt.lifecycles:
        conditions.append("e.lifecycle IN $lifecycles")
        params["lifecycles"] = list(flt.lifecycles)
    if flt.system_keys:
        conditions.append("EXISTS { MATCH (e)-[:PART_OF]->(s:Ref) WHERE s.key IN $systems }")
        params["systems"] = lookup_keys(flt.system_keys)
    if flt.annotation is not None:
        key, value = flt.annotation
        conditions.append("e.annotation_pairs CONTAINS $annotation_key")
        params["annotation_key"] = annotation_key(key)
        if value is not None:
            conditions.append("e.annotation_pairs CONTAINS $annotation_pair")
            params["annotation_pair"] = item(annotation_pair(key, value))
    if flt.keys:
        conditions.append("e.key IN $only_keys")
        params["only_keys"] = lookup_keys(flt.keys)
    if flt.any_of:
        sets = resolve_sets(flt.any_of)
        kinds = required_kinds(sets)
        if kinds is not None:
            conditions.append("e.kind IN $set_kinds")  # the kind index answers this one
            params["set_kinds"] = kinds
        if kinds is None or any(len(s) > 1 for s in sets):  # else the kinds say it all
            conditions.append(FILTER_SETS)
        params["sets"] = [[_condition(c) for c in conditions_] for conditions_ in sets]
        anchors = _anchors(sets)
        if flt.search is None and anchors:
            source = ANCHORED_SOURCE
            params["anchors"] = anchors
    if flt.text is not None:
        if source == PLAIN_SOURCE and not flt.keys and fulltext.indexed(flt.text):
            source = fulltext.SOURCE  # the candidates from the index, not the kind's
        conditions.extend(fulltext.conditions(flt.text))
        params.update(fulltext.params(flt.text))
    keyed = source == PLAIN_SOURCE and bool(params.get("kinds") or params.get("set_kinds"))
    if keyed:  # a key is "kind:namespace/name": a kind's keys lie in ["kind:", "kind;")
        kinds = params.get("kinds") or params["set_kinds"]
        params.update(key_from=min(kinds) + ":", key_to=max(kinds) + ";")
    return EntityMatch(source, tuple(conditions), params, keyed)


PLAIN_SOURCE: LiteralString = "MATCH (e:Ref:Entity)"

#: The full-text matches with their score, and the entity the text names as a ref (score 0).
SEARCH_SOURCE: LiteralString = """CALL () {
  CALL db.index.fulltext.queryNodes('entity_search', $search) YIELD node, score
  RETURN node AS e, score
  UNION ALL
  MATCH (e:Ref:Entity) WHERE e.key IN $search_keys RETURN e, 0.0 AS score
}
WITH e, max(score) AS score"""

_KIND_RANK: LiteralString = "coalesce($kind_rank[e.kind], $other_kind)"
_PREFIX: LiteralString = (
    "(toLower(e.name) STARTS WITH $search_text "
    "OR toLower(coalesce(e.title, '')) STARTS WITH $search_text)"
)
#: graph.search.relevance in Cypher, over ``e`` and its full-text ``score``.
RELEVANCE: LiteralString = (
    "((CASE WHEN e.key IN $search_keys OR toLower(e.name) = $search_text "
    "OR toLower(coalesce(e.title, '')) = $search_text THEN "
    + _KIND_RANK
    + " WHEN e.kind IN $demoted THEN CASE WHEN "
    + _PREFIX
    + " THEN 3 * $tier + "
    + _KIND_RANK
    + " ELSE 4 * $tier END ELSE CASE WHEN "
    + _PREFIX
    + " THEN $tier + "
    + _KIND_RANK
    + " ELSE 2 * $tier END END) + 0.5 / (1.0 + CASE WHEN score > 0.0 THEN score ELSE 0.0 END))"
)

#: Backstage's filter sets over ``$sets``: a list of sets, each a list of conditions
#: (:func:`_condition`); one statement text whatever the filter, every value a parameter.
#: Field keys and pairs are found in their joined lists (:mod:`graph.neo4j.schema`).
FILTER_SETS: LiteralString = """ANY(set IN $sets WHERE ALL(c IN set WHERE c.negated <> CASE c.match
  WHEN 'field' THEN CASE WHEN size(c.pairs) = 0 THEN e.field_keys CONTAINS c.key
                    ELSE ANY(p IN c.pairs WHERE e.field_lpairs CONTAINS p) END
  WHEN 'out' THEN EXISTS { MATCH (e)-[r]->(t:Ref)
                           WHERE type(r) = c.type AND (size(c.values) = 0 OR t.key IN c.values) }
  WHEN 'in' THEN EXISTS { MATCH (e)<-[r]-(t:Ref)
                          WHERE type(r) = c.type AND (size(c.values) = 0 OR t.key IN c.values) }
  ELSE false END))"""


#: The entities related to ``$anchors`` (maps of ``match``: out or in, relationship
#: ``type``, the far ends' ``values``): found from the far ends' keys through the key index,
#: not by testing every entity (Backstage's ``filter=relations.ownedBy=group:x``).
ANCHORED_SOURCE: LiteralString = """CALL () {
  UNWIND $anchors AS a
  MATCH (t:Ref) WHERE t.key IN a.values
  MATCH (t)<-[r]-(e:Ref:Entity) WHERE a.match = 'out' AND type(r) = a.type
  RETURN e
  UNION
  UNWIND $anchors AS a
  MATCH (t:Ref) WHERE t.key IN a.values
  MATCH (t)-[r]->(e:Ref:Entity) WHERE a.match = 'in' AND type(r) = a.type
  RETURN e
}
WITH e"""


def _anchors(sets: Sequence[Sequence[Condition]]) -> list[dict[str, Any]]:
    """For filter sets that each hold a relation to given entities (not negated), one such
    condition of each (every match has one of these relations); empty when some set holds
    none (then the entities are tested one by one)."""
    anchors = []
    for conditions in sets:
        held = [c for c in conditions if c.match in (Match.OUT, Match.IN) and c.values]
        anchor = next((c for c in held if not c.negated), None)
        if anchor is None:
            return []
        anchors.append(
            {
                "match": anchor.match.value,
                "type": REL_TYPES.get(anchor.rel_type, ""),
                "values": list(anchor.values),
            }
        )
    return anchors


def _condition(condition: Condition) -> dict[str, Any]:
    return {
        "match": condition.match.value,
        "key": item(condition.path),
        "pairs": [item(pair) for pair in condition.pairs],
        "type": REL_TYPES.get(condition.rel_type, ""),
        "values": list(condition.values),
        "negated": condition.negated,
    }


#: Sort value and direction of each order but KEY (which pages on the key index).
ORDER_VALUES: dict[Order, tuple[LiteralString, LiteralString]] = {
    Order.NAME: ("toLower(e.name)", "ASC"),
    Order.KIND: ("e.kind", "ASC"),
    Order.UPDATED_AT: ("e.updated_at", "DESC"),
    Order.RELEVANCE: (RELEVANCE, "ASC"),  # graph.search.relevance, lower first
}


def list_query(
    match: EntityMatch,
    order: Order,
    backward: bool = False,
    related: LiteralString = "",
    fields: LiteralString = ENTITY_FIELDS,
) -> LiteralString:
    """A page of ``match`` in ``order`` after ``$after_value``/``$after_key`` (``backward``:
    before them, read the other way): one row whose ``page`` holds up to ``$limit`` pairs of
    entity (as ``fields``) and sort value. ``related``: an expression over ``e`` evaluated
    for the page's entities only (after the limit), added to each pair as a third item."""
    key_compare: LiteralString = "<" if backward else ">"
    key_direction: LiteralString = "DESC" if backward else "ASC"
    if order is Order.KEY:  # the kinds' key range: the seek skips the keys of other kinds
        bounds: tuple[LiteralString, ...] = (
            ("e.key >= $key_from", "e.key < $key_to") if match.key_range else ()
        )
        return (
            match.clause("e.key " + key_compare + " $after_key", *bounds)
            + " WITH e ORDER BY e.key "
            + key_direction
            + " LIMIT $limit"
            + _page_tail("e.key", related, fields)
        )
    value, direction = ORDER_VALUES[order]
    compare: LiteralString = "<" if direction == "DESC" else ">"
    if backward:
        compare = ">" if direction == "DESC" else "<"
        direction = "DESC" if direction == "ASC" else "ASC"
    return (
        match.clause()
        + " WITH e, "
        + value
        + " AS sort_value"
        + " WHERE $after_value IS NULL OR sort_value "
        + compare
        + " $after_value OR (sort_value = $after_value AND e.key "
        + key_compare
        + " $after_key)"
        + " WITH e, sort_value ORDER BY sort_value "
        + direction
        + ", e.key "
        + key_direction
        + " LIMIT $limit"
        + _page_tail("sort_value", related, fields)
    )


def _page_tail(sort: LiteralString, related: LiteralString, fields: LiteralString) -> LiteralString:
    if not related:
        return " RETURN collect([" + fields + ", " + sort + "]) AS page"
    return (
        " WITH e, "
        + sort
        + " AS sort_value, "
        + related
        + " AS related RETURN collect(["
        + fields
        + ", sort_value, related]) AS page"
    )


def count_query(match: EntityMatch) -> LiteralString:
    return match.clause() + " RETURN count(e) AS total"


#: facet field -> the clause binding its ``value`` for one entity ``e`` (one row per value).
FACET_VALUES: dict[str, LiteralString] = {
    "kind": "WITH e.kind AS value",
    "namespace": "WITH e.namespace AS value",
    "spec.type": "WITH e.spec_type AS value",
    "spec.lifecycle": "WITH e.lifecycle AS value",
    "metadata.tags": "UNWIND e.tags AS value",
    "owner": "MATCH (e)-[o:OWNED_BY]->() WITH o.target_ref AS value",
    "source": "WITH e.source AS value",
}

_COLUMNS: tuple[LiteralString, ...] = ("f0", "f1", "f2", "f3", "f4", "f5", "f6")


def facets_query(match: EntityMatch, fields: Sequence[str]) -> LiteralString:
    """One statement counting each of ``fields`` (keys of :data:`FACET_VALUES`) over the
    entities of ``match``: column ``f<i>`` holds ``[value, count]`` pairs, most frequent
    first, ties by value, at most ``$limit``."""
    text = match.clause() + "\nWITH collect(e) AS matched\n"
    columns: list[LiteralString] = []
    for index, name in enumerate(fields):
        column = _COLUMNS[index]
        text += (
            "CALL (matched) {\n  UNWIND matched AS e\n  "
            + FACET_VALUES[name]
            + "\n  WITH value WHERE value IS NOT NULL"
            + "\n  WITH value, count(*) AS n ORDER BY n DESC, value LIMIT $limit"
            + "\n  RETURN collect([value, n]) AS "
            + column
            + "\n}\n"
        )
        columns.append(column)
    return text + "RETURN " + ", ".join(columns)


_ORDER_SLOTS: tuple[tuple[LiteralString, LiteralString], ...] = (
    ("$order_prefixes[0]", "s0"),
    ("$order_prefixes[1]", "s1"),
    ("$order_prefixes[2]", "s2"),
    ("$order_prefixes[3]", "s3"),
)


def select_query(
    match: EntityMatch, descending: Sequence[bool], paths: Sequence[str] = ()
) -> LiteralString:
    """A page of ``match`` ordered by the smallest lowercased value at each of
    ``$order_prefixes`` (``path<SEP>``; missing values last), then by key, after skipping
    ``$offset``: one row whose ``page`` holds up to ``$limit`` entities. ``paths`` (lowercase,
    beside ``descending``): ``metadata.name``, the catalog page's order, is the entity's one
    name, ASCII by validation, lowercased from ``name``; splitting every candidate's fields
    took two thirds of a page of components."""
    text = match.clause() + " WITH e"
    order: LiteralString = ""
    for index, ((prefix, name), desc) in enumerate(zip(_ORDER_SLOTS, descending, strict=False)):
        direction: LiteralString = "DESC" if desc else "ASC"
        order += name + " IS NULL, " + name + " " + direction + ", "
        if index < len(paths) and paths[index] == "metadata.name":
            text += ", toLower(e.name) AS " + name
            continue
        text += (
            ", reduce(m = null, p IN split(e.field_lpairs, $items) | CASE WHEN p STARTS WITH "
            + prefix
            + " AND (m IS NULL OR substring(p, size("
            + prefix
            + ")) < m) THEN substring(p, size("
            + prefix
            + ")) ELSE m END) AS "
            + name
        )
    return (
        text
        + " ORDER BY "
        + order
        + "e.key SKIP $offset LIMIT $limit RETURN collect("
        + ENTITY_FIELDS
        + ") AS page"
    )


def field_facets_query(match: EntityMatch) -> LiteralString:
    """Counts for each facet of ``$facets`` (maps with ``match``, ``prefix`` = path<SEP>,
    ``type``) over the entities of ``match``: one row whose ``facets`` holds
    ``[index, value, count]`` triples."""
    return (
        match.clause()
        + """
WITH collect(e) AS matched
UNWIND range(0, size($facets) - 1) AS i
CALL (matched, i) {
  WITH $facets[i] AS facet
  UNWIND CASE WHEN facet.match = 'field' THEN matched ELSE [] END AS e
  UNWIND split(e.field_pairs, $items) AS p
  WITH e, p, facet WHERE p STARTS WITH facet.prefix
  RETURN e AS counted, substring(p, size(facet.prefix)) AS value
  UNION ALL
  WITH $facets[i] AS facet
  UNWIND CASE WHEN facet.match = 'out' THEN matched ELSE [] END AS e
  MATCH (e)-[r]->() WHERE type(r) = facet.type
  RETURN e AS counted, r.target_ref AS value
  UNION ALL
  WITH $facets[i] AS facet
  UNWIND CASE WHEN facet.match = 'in' THEN matched ELSE [] END AS e
  MATCH (e)<-[r]-() WHERE type(r) = facet.type
  RETURN e AS counted, r.source_ref AS value
}
WITH i, value, count(DISTINCT counted) AS n
RETURN collect([i, value, n]) AS facets"""
    )
