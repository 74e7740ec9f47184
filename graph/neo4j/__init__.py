"""The production graph store: Neo4j 5.26 over Bolt, through one async driver.

Model. Every node is ``(:Ref {key, ref})``, the key being the lowercased ref under a
uniqueness constraint. An entity is ``:Ref:Entity`` plus a label for its kind (the
capitalised kind: ``:Component``), with its fields and provenance as properties, and what
listings filter on besides: ``spec_type`` and ``lifecycle`` (``spec.type`` and
``spec.lifecycle`` when they are strings), ``annotation_pairs`` (each annotation as the
JSON array ``[key, value]``) and the searchable fields, each list joined into one string
(:mod:`~graph.neo4j.schema`). A relation is one relationship of a
fixed type per relation type (``ownedBy`` -> ``OWNED_BY``), stamped with ``source`` and
``run_id`` and keeping both refs as written. A relation whose end is not (or no longer) an
entity points at a placeholder: a bare ``:Ref`` node. Upserting the entity turns the
placeholder into it; deleting an entity that relations still reach turns it back into a
placeholder; placeholders left without relationships are deleted. Run records are
``(:Run {id, source, started_at, status, document})``; a lease is
``(:Lease {name, owner, expires_at})``.

Kinds whose label would be one of the store's own (``ref``, ``entity``, ``run``) get no
kind label, so ``:Run`` only ever means a run record.

Writes are ``UNWIND $rows ... MERGE`` on the constrained key,
:data:`~graph.neo4j.writes.BATCH_SIZE` rows per managed transaction (transient errors
retry). Reads are one statement each, except :func:`~graph.neo4j.questions.impact`, one
statement per level of its breadth-first walk. Only whitelisted relationship types, labels
from validated kinds and validated integers reach the Cypher text; every value is a
parameter.

One concern a module: :mod:`~graph.neo4j.connection` (the driver and sessions),
:mod:`~graph.neo4j.schema` (names, constraints, indexes, migrations),
:mod:`~graph.neo4j.writes`, :mod:`~graph.neo4j.reads` (by key, listings, facets) with
:mod:`~graph.neo4j.filters` (the listing Cypher), :mod:`~graph.neo4j.questions`
(traversal, impact, path, ownership), :mod:`~graph.neo4j.runs` (run log and leases),
:mod:`~graph.neo4j.rows` (row and parameter conversions), and :mod:`~graph.neo4j.store`,
the store class delegating to them.
"""

from graph.neo4j.store import Neo4jStore

__all__ = ["Neo4jStore"]
