"""The committed ``schema.graphql`` is what the code serves, so front ends can review changes."""

from __future__ import annotations

from pathlib import Path

from schema import build_schema

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_schema_file_matches_the_code() -> None:
    exported = build_schema().as_str() + "\n"

    assert SCHEMA_FILE.read_text() == exported, (
        "schema.graphql is out of date: run `make schema` and commit the result"
    )


FIXED_QUERY_FIELDS: dict[str, tuple[str, dict[str, tuple[str, object]]]] = {
    # field: (type, {argument: (type, default)})
    "entity": ("Entity", {"ref": ("String!", None)}),
    "entities": (
        "EntityConnection!",
        {
            "kind": ("[String!]", None),  # one kind or a list (issue 11)
            "namespace": ("String", None),
            "owner": ("String", None),
            "tag": ("String", None),
            "search": ("String", None),
            "first": ("Int", 25),
            "after": ("String", None),
            "filter": ("[EntityFilter!]", None),
            "last": ("Int", None),
            "before": ("String", None),
        },
    ),
    "entitiesByRefs": ("[Entity]!", {"refs": ("[String!]!", None)}),
    "dependencies": (
        "DependencyGraph!",
        {
            "ref": ("String!", None),
            "direction": ("Direction", "DOWNSTREAM"),
            "maxDepth": ("Int", 10),
        },
    ),
    "ownedEntities": (
        "[Entity!]!",
        {"owner": ("String!", None), "includeSubgroups": ("Boolean", False)},
    ),
    "impact": ("Impact!", {"ref": ("String!", None), "maxDepth": ("Int", 10)}),
    "path": (
        "[Entity!]",
        {"from": ("String!", None), "to": ("String!", None), "maxDepth": ("Int", 10)},
    ),
    "entityFacets": (
        "[Facet!]!",
        {
            "fields": ("[String!]!", None),
            "kind": ("[String!]", None),
            "owner": ("String", None),
            "tag": ("String", None),
        },
    ),
    "node": ("Entity", {"id": ("ID!", None)}),
}


def test_schema_keeps_the_fixed_names() -> None:
    query = build_schema()._schema.query_type
    assert query is not None

    for name, (type_, arguments) in FIXED_QUERY_FIELDS.items():
        field = query.fields[name]
        assert str(field.type) == type_, name
        for argument, (arg_type, default) in arguments.items():
            arg = field.args[argument]
            assert str(arg.type) == arg_type, (name, argument)
            value = arg.default_value
            value = getattr(value, "value", value)
            assert value == default, (name, argument)
