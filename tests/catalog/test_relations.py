"""Relations derived from spec fields, checked on Backstage's example catalog.

The counts and the numbered facts come from ``tests/fixtures/backstage-examples/README.md``
("What a correct loader reproduces"); each fact is its own test below.
"""

from __future__ import annotations

from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from catalog.descriptors import is_placeholder, parse_descriptors
from catalog.entity import Entity
from catalog.errors import InvalidRefError
from catalog.refs import EntityRef
from catalog.relations import (
    RELATION_TYPES,
    Relation,
    derive_relations,
    normalize_type,
)
from catalog.validation import validate_entity
from ingestors.git.transform import Origin, transform_tree
from ingestors.git.tree import DirTree
from ingestors.snapshot import Snapshot

EXAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "backstage-examples"

Edge = tuple[str, str, str]


@cache
def load(*entry_paths: str) -> Snapshot:
    return transform_tree(DirTree(EXAMPLES), Origin(str(EXAMPLES), None), entry_paths)


def acme() -> Snapshot:
    """all.yaml + acme-corp.yaml: the 63-entity example catalog."""
    return load("all.yaml", "acme-corp.yaml")


def entities(snapshot: Snapshot) -> dict[str, Entity]:
    return {str(found.entity.ref): found.entity for found in snapshot.descriptors}


def edges(snapshot: Snapshot) -> set[Edge]:
    """Every stored (forward) relation of the snapshot, as (source, type, target)."""
    return {
        (str(relation.source), relation.type, str(relation.target))
        for found in snapshot.descriptors
        for relation in derive_relations(found.entity)
    }


def targets(source: str, type_: str, snapshot: Snapshot | None = None) -> set[str]:
    return {t for s, r, t in edges(snapshot or acme()) if s == source and r == type_}


def sources(type_: str, target: str, snapshot: Snapshot | None = None) -> set[str]:
    return {s for s, r, t in edges(snapshot or acme()) if r == type_ and t == target}


def entity(**spec: Any) -> Entity:
    kind = spec.pop("kind", "Component")
    namespace = spec.pop("namespace", "default")
    annotations = spec.pop("annotations", {})
    return validate_entity(
        {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": kind,
            "metadata": {"name": "me", "namespace": namespace, "annotations": annotations},
            "spec": spec,
        }
    )


# --- unit behaviour -------------------------------------------------------------------------


MINIMAL_SPECS: dict[str, dict[str, Any]] = {
    "Component": {"type": "service", "lifecycle": "production", "owner": "user:me"},
    "API": {"type": "grpc", "lifecycle": "production", "owner": "user:me", "definition": "x"},
    "Resource": {"type": "database", "owner": "user:me"},
    "System": {"owner": "user:me"},
    "Domain": {"owner": "user:me"},
    "Group": {"type": "team", "children": []},
    "User": {"memberOf": []},
}


@pytest.mark.parametrize(
    ("kind", "field", "value", "expected"),
    [
        ("Component", "owner", "team-a", ("ownedBy", "group:default/team-a")),
        ("Component", "system", "shop", ("partOf", "system:default/shop")),
        ("Component", "subcomponentOf", "shop-web", ("partOf", "component:default/shop-web")),
        ("Component", "providesApis", ["orders"], ("providesApi", "api:default/orders")),
        ("Component", "consumesApis", ["orders"], ("consumesApi", "api:default/orders")),
        ("API", "system", "shop", ("partOf", "system:default/shop")),
        ("Resource", "system", "shop", ("partOf", "system:default/shop")),
        ("System", "domain", "retail", ("partOf", "domain:default/retail")),
        ("Domain", "subdomainOf", "retail", ("partOf", "domain:default/retail")),
        ("Group", "parent", "eng", ("childOf", "group:default/eng")),
        ("User", "memberOf", ["eng"], ("memberOf", "group:default/eng")),
    ],
)
def test_bare_ref_takes_the_default_kind_of_its_field(
    kind: str, field: str, value: Any, expected: tuple[str, str]
) -> None:
    me = entity(kind=kind, **{**MINIMAL_SPECS[kind], field: value})

    found = {(r.type, str(r.target)) for r in derive_relations(me) if r.source == me.ref}

    assert expected in found


def test_inverse_fields_are_stored_as_the_forward_relation_of_the_other_entity() -> None:
    group = entity(kind="Group", type="team", children=["team-b"], members=["jane"])
    component = entity(
        type="service", lifecycle="production", owner="x", dependencyOf=["resource:db"]
    )

    found = {(str(r.source), r.type, str(r.target)) for r in derive_relations(group)}
    found |= {(str(r.source), r.type, str(r.target)) for r in derive_relations(component)}

    assert ("group:default/team-b", "childOf", "group:default/me") in found
    assert ("user:default/jane", "memberOf", "group:default/me") in found
    assert ("resource:default/db", "dependsOn", "component:default/me") in found


def test_refs_default_to_the_namespace_of_the_declaring_entity() -> None:
    me = entity(
        namespace="finance",
        type="service",
        lifecycle="production",
        owner="team-a",
        providesApis=["payments", "shared/ledger"],
        dependsOn=["resource:db"],
    )

    found = {(r.type, str(r.target)) for r in derive_relations(me)}

    assert found == {
        ("ownedBy", "group:finance/team-a"),
        ("providesApi", "api:finance/payments"),
        ("providesApi", "api:shared/ledger"),
        ("dependsOn", "resource:finance/db"),
    }


def test_duplicate_refs_yield_one_relation() -> None:
    me = entity(
        type="service",
        lifecycle="production",
        owner="team-a",
        consumesApis=["orders", "api:orders", "API:default/orders"],
    )

    assert [r for r in derive_relations(me) if r.type == "consumesApi"] == [
        Relation(me.ref, "consumesApi", EntityRef("api", "default", "orders"))
    ]


def test_source_template_annotation_gives_scaffolded_from() -> None:
    me = entity(
        type="service",
        lifecycle="production",
        owner="team-a",
        annotations={"backstage.io/source-template": "springboot-template"},
    )

    found = {(r.type, str(r.target)) for r in derive_relations(me)}

    assert ("scaffoldedFrom", "template:default/springboot-template") in found


def test_unparseable_ref_is_reported_with_its_field() -> None:
    me = Entity.model_validate(
        {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Resource",
            "metadata": {"name": "db"},
            "spec": {"type": "database", "owner": "team-a", "dependsOn": ["component:a", "b"]},
        }
    )

    with pytest.raises(InvalidRefError) as caught:
        derive_relations(me)

    assert (caught.value.field, caught.value.ref) == ("spec.dependsOn[1]", "b")


def test_relation_names_are_backstage_names_with_their_inverses() -> None:
    backstage = {
        "ownedBy": "ownerOf",
        "dependsOn": "dependencyOf",
        "providesApi": "apiProvidedBy",
        "consumesApi": "apiConsumedBy",
        "partOf": "hasPart",
        "memberOf": "hasMember",
        "childOf": "parentOf",
        "scaffoldedFrom": "scaffolderOf",
    }

    assert {name: RELATION_TYPES[name] for name in backstage} == backstage
    assert all(normalize_type(inverse) == (forward, True) for forward, inverse in backstage.items())
    assert normalize_type("ownedBy") == ("ownedBy", False)
    with pytest.raises(ValueError, match="unknown relation type"):
        normalize_type("owns")


# --- counts over the example catalog -------------------------------------------------------


def test_example_catalog_loads_63_entities_by_kind() -> None:
    snapshot = acme()

    kinds = Counter(found.entity.kind for found in snapshot.descriptors)

    assert (snapshot.errors, snapshot.rejected) == ([], [])
    assert kinds == {
        "Location": 8,
        "Component": 13,
        "API": 10,
        "Resource": 1,
        "System": 3,
        "Domain": 3,
        "Group": 8,
        "User": 17,
    }
    assert len(entities(snapshot)) == 63


def test_example_catalog_yields_77_backstage_relations_by_type() -> None:
    backstage = [edge for edge in edges(acme()) if edge[1] != "scaffoldedFrom"]

    assert len(backstage) == 77
    assert Counter(type_ for _, type_, _ in backstage) == {
        "ownedBy": 30,
        "memberOf": 17,
        "partOf": 15,
        "childOf": 7,
        "providesApi": 5,
        "consumesApi": 2,
        "dependsOn": 1,
    }


def test_no_backstage_relation_of_the_example_catalog_dangles() -> None:
    known = {ref.lower() for ref in entities(acme())}

    dangling = {
        edge
        for edge in edges(acme())
        if edge[1] != "scaffoldedFrom" and not {edge[0].lower(), edge[2].lower()} <= known
    }

    assert dangling == set()


def test_source_templates_add_two_scaffolded_from_relations_to_absent_templates() -> None:
    all_edges = edges(acme())
    known = {ref.lower() for ref in entities(acme())}

    scaffolded = {edge for edge in all_edges if edge[1] == "scaffoldedFrom"}
    dangling_targets = {t for _, _, t in all_edges if t.lower() not in known}

    assert len(all_edges) == 79
    assert scaffolded == {
        (
            "component:default/artist-lookup",
            "scaffoldedFrom",
            "template:default/springboot-template",
        ),
        ("component:default/www-artist", "scaffoldedFrom", "template:default/react-ssr-template"),
    }
    assert dangling_targets == {
        "template:default/springboot-template",
        "template:default/react-ssr-template",
    }


def test_group_tree_declared_on_both_sides_is_stored_once() -> None:
    # team-a says `parent: backstage`; backstage says `children: [team-a, team-b]`.
    found = entities(acme())

    from_child = set(derive_relations(found["group:default/team-a"]))
    from_parent = set(derive_relations(found["group:default/backstage"]))

    shared = from_child & from_parent
    assert {(str(r.source), r.type, str(r.target)) for r in shared} == {
        ("group:default/team-a", "childOf", "group:default/backstage")
    }


# --- the README's facts, one test each ------------------------------------------------------


def test_fact_01_artist_lookup_owner_system_and_dependency() -> None:
    outgoing = {(r, t) for s, r, t in edges(acme()) if s == "component:default/artist-lookup"}

    assert outgoing == {
        ("ownedBy", "group:default/team-a"),
        ("partOf", "system:default/artist-engagement-portal"),
        ("dependsOn", "resource:default/artists-db"),
        ("scaffoldedFrom", "template:default/springboot-template"),
    }


def test_fact_02_petstore_provides_three_apis() -> None:
    assert targets("component:default/petstore", "ownedBy") == {"group:default/team-c"}
    assert targets("component:default/petstore", "providesApi") == {
        "api:default/petstore",
        "api:default/streetlights",
        "api:default/hello-world",
    }


def test_fact_03_wayback_search_provides_and_consumes() -> None:
    assert targets("component:default/wayback-search", "providesApi") == {
        "api:default/wayback-search"
    }
    assert targets("component:default/wayback-search", "consumesApi") == {
        "api:default/wayback-archive"
    }
    assert sources("providesApi", "api:default/wayback-archive") == {
        "component:default/wayback-archive"
    }


def test_fact_04_wayback_subcomponents_are_part_of_wayback_archive() -> None:
    ingestion = "component:default/wayback-archive-ingestion"
    storage = "component:default/wayback-archive-storage"

    assert targets(ingestion, "ownedBy") == {"group:default/team-d"}
    assert targets(storage, "ownedBy") == {"group:default/team-a"}
    assert sources("partOf", "component:default/wayback-archive") == {ingestion, storage}


def test_fact_05_group_tree_by_child_of() -> None:
    child_of = {(s, t) for s, r, t in edges(acme()) if r == "childOf"}

    assert child_of == {
        ("group:default/infrastructure", "group:default/acme-corp"),
        ("group:default/backstage", "group:default/infrastructure"),
        ("group:default/boxoffice", "group:default/infrastructure"),
        ("group:default/team-a", "group:default/backstage"),
        ("group:default/team-b", "group:default/backstage"),
        ("group:default/team-c", "group:default/boxoffice"),
        ("group:default/team-d", "group:default/boxoffice"),
    }


def test_fact_06_users_and_group_membership() -> None:
    members = Counter(t for _, r, t in edges(acme()) if r == "memberOf")

    assert targets("user:default/guest", "memberOf") == {"group:default/team-a"}
    assert targets("user:development/guest", "memberOf") == {"group:default/team-a"}
    assert members == {
        "group:default/team-a": 5,
        "group:default/team-b": 5,
        "group:default/team-c": 5,
        "group:default/team-d": 2,
    }


def test_fact_07_user_owners() -> None:
    assert sources("ownedBy", "user:default/guest") == {
        "component:default/playback-order",
        "component:default/searcher",
        "component:default/shuffle-api",
    }
    assert targets("domain:default/playback", "ownedBy") == {"user:default/frank.tiernan"}


def test_fact_08_systems_and_domains() -> None:
    assert targets("system:default/artist-engagement-portal", "ownedBy") == {"group:default/team-a"}
    assert targets("system:default/artist-engagement-portal", "partOf") == {
        "domain:default/artists"
    }
    assert targets("system:default/audio-playback", "ownedBy") == {"group:default/team-c"}
    assert targets("system:default/podcast", "ownedBy") == {"group:default/team-b"}
    assert sources("partOf", "domain:default/playback") == {
        "system:default/audio-playback",
        "system:default/podcast",
    }
    assert sources("partOf", "domain:default/audio") == {
        "domain:default/artists",
        "domain:default/playback",
    }
    assert targets("domain:default/audio", "ownedBy") == {"group:default/acme-corp"}


def test_fact_09_explicit_kind_wins_over_the_api_default() -> None:
    assert targets("component:default/www-artist", "consumesApi") == {
        "component:default/artist-lookup"
    }


def test_fact_10_file_name_differs_from_entity_name() -> None:
    found = {str(d.entity.ref): d for d in acme().descriptors}

    sdk = found["component:default/playback-sdk"]
    starwars = found["api:default/starwars-graphql"]

    assert sdk.location.file == "components/playback-lib-component.yaml"
    assert sdk.entity.spec["type"] == "library"
    assert targets("component:default/playback-sdk", "ownedBy") == {"group:default/team-c"}
    assert targets("component:default/playback-sdk", "partOf") == {"system:default/audio-playback"}
    assert starwars.location.file == "apis/swapi-graphql.yaml"
    assert starwars.entity.spec["type"] == "graphql"
    assert targets("api:default/starwars-graphql", "ownedBy") == {"group:default/team-b"}


def test_fact_11_five_apis_have_no_provider() -> None:
    apis = {ref for ref, e in entities(acme()).items() if e.kind == "API"}
    provided = {t for _, r, t in edges(acme()) if r == "providesApi"}

    assert apis - provided == {
        "api:default/spotify",
        "api:default/starwars-graphql",
        "api:default/hello-world-trpc",
        "api:default/petstore-webhook",
        "api:default/backstage-mcp-server",
    }


def test_fact_12_mcp_server_has_remotes_and_no_definition() -> None:
    mcp = entities(acme())["api:default/backstage-mcp-server"]

    assert mcp.spec["type"] == "mcp-server"
    assert mcp.spec["remotes"] == [
        {"type": "streamable-http", "url": "http://localhost:7007/api/mcp/v1"}
    ]
    assert "definition" not in mcp.spec


def raw_text_placeholders() -> dict[str, str]:
    """API name -> ``$text`` target, read from the descriptor files as written."""
    found = {}
    for path in sorted((EXAMPLES / "apis").glob("*.yaml")):
        for document in parse_descriptors(path.read_text(encoding="utf-8"), path.name).documents:
            definition = document.data.get("spec", {}).get("definition")
            if document.data.get("kind") == "API" and is_placeholder(definition):
                found[document.data["metadata"]["name"]] = definition["$text"]
    return found


def test_fact_13_five_apis_use_text_and_two_are_relative() -> None:
    placeholders = raw_text_placeholders()

    assert {name: target.split("/")[0] for name, target in placeholders.items()} == {
        "petstore": ".",
        "petstore-webhook": ".",
        "spotify": "https:",
        "wayback-archive": "https:",
        "wayback-search": "https:",
    }


def test_fact_13_relative_text_resolves_to_the_file_content() -> None:
    found = entities(acme())

    for name, target in [
        ("petstore", "petstore.oas.yaml"),
        ("petstore-webhook", "petstore-webhook.oas.yaml"),
    ]:
        content = (EXAMPLES / "apis" / target).read_text(encoding="utf-8")
        assert found[f"api:default/{name}"].spec["definition"] == content


def test_fact_13_remote_text_stays_unresolved_with_a_warning_and_the_api_is_valid() -> None:
    snapshot = acme()
    found = entities(snapshot)
    placeholders = raw_text_placeholders()

    for name in ["spotify", "wayback-archive", "wayback-search"]:
        assert found[f"api:default/{name}"].spec["definition"] == {"$text": placeholders[name]}
    assert sorted(snapshot.warnings) == [
        f"apis/{name}-api.yaml:1: spec.definition: $text {placeholders[name]} is remote and "
        "was not fetched; left unresolved"
        for name in ["spotify", "wayback-archive", "wayback-search"]
    ]


def test_fact_13_no_other_api_uses_a_placeholder() -> None:
    placeholders = {
        ref
        for ref, e in entities(acme()).items()
        if e.kind == "API" and isinstance(e.spec.get("definition"), dict)
    }

    assert placeholders == {
        "api:default/spotify",
        "api:default/wayback-archive",
        "api:default/wayback-search",
    }


def create_app() -> Snapshot:
    tree = DirTree(EXAMPLES)
    files = [p for p in tree.paths() if p.startswith("create-app/") and p.endswith(".yaml")]
    return load(*files)


def test_fact_14_create_app_catalog() -> None:
    snapshot = create_app()

    assert (snapshot.errors, snapshot.rejected) == ([], [])
    assert sorted(entities(snapshot)) == [
        "api:default/example-grpc-api",
        "component:default/example-website",
        "group:default/guests",
        "system:default/examples",
        "template:default/example-nodejs-template",
        "user:default/guest",
    ]
    assert targets("template:default/example-nodejs-template", "ownedBy", snapshot) == {
        "user:default/guest"
    }
    assert targets("component:default/example-website", "providesApi", snapshot) == {
        "api:default/example-grpc-api"
    }
    assert sources("partOf", "system:default/examples", snapshot) == {
        "component:default/example-website",
        "api:default/example-grpc-api",
    }
