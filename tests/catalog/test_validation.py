"""Validation of raw descriptors against Backstage's rules, cross-checked with Backstage's
own JSON Schemas (``tests/fixtures/backstage-validation``) and example catalog.

The schemas check shapes only; name, namespace, label, annotation and tag *formats* are
Backstage's ``FieldFormatEntityPolicy`` rules, tested here from its validator tables.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from catalog.descriptors import is_placeholder, is_remote
from catalog.entity import Entity
from catalog.errors import InvalidEntityError, SourceLocation
from catalog.validation import validate_entity
from ingestors.git.transform import Origin, transform_tree
from ingestors.git.tree import DirTree

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SCHEMAS = FIXTURES / "backstage-validation" / "schemas"
EXAMPLES = FIXTURES / "backstage-examples"

_DELETE = object()

MINIMAL: dict[str, dict[str, Any]] = {
    "Component": {"type": "service", "lifecycle": "production", "owner": "team-a"},
    "API": {
        "type": "openapi",
        "lifecycle": "production",
        "owner": "team-a",
        "definition": "openapi: 3.0.0",
    },
    "Resource": {"type": "database", "owner": "team-a"},
    "System": {"owner": "team-a"},
    "Domain": {"owner": "team-a"},
    "Group": {"type": "team", "children": []},
    "User": {"memberOf": []},
    "Location": {"targets": ["./services/catalog-info.yaml"]},
    "Template": {"type": "service", "steps": [{"id": "fetch", "action": "fetch:template"}]},
}


def descriptor(kind: str, name: str = "example", **changes: Any) -> dict[str, Any]:
    """A minimal valid descriptor of ``kind``; ``changes`` maps dotted paths (``spec__owner``
    is ``spec.owner``) to new values, or to ``_DELETE`` to remove the field."""
    api_version = (
        "scaffolder.backstage.io/v1beta3" if kind == "Template" else "backstage.io/v1alpha1"
    )
    raw: dict[str, Any] = {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": name},
        "spec": copy.deepcopy(MINIMAL[kind]),
    }
    for dotted, value in changes.items():
        set_path(raw, dotted.replace("__", "."), value)
    return raw


def set_path(raw: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    node = raw
    for part in parents:
        node = node.setdefault(part, {})
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value


def rejection(raw: Any, location: SourceLocation | None = None) -> InvalidEntityError:
    with pytest.raises(InvalidEntityError) as caught:
        validate_entity(raw, location)
    return caught.value


# --- envelope and per-kind rules ------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(MINIMAL))
def test_minimal_descriptor_of_each_kind_is_valid(kind: str) -> None:
    entity = validate_entity(descriptor(kind, "payments"))

    assert isinstance(entity, Entity)
    assert str(entity.ref) == f"{kind.lower()}:default/payments"
    assert entity.metadata.namespace == "default"


@pytest.mark.parametrize(
    ("kind", "field"),
    [
        ("Component", "type"),
        ("Component", "lifecycle"),
        ("Component", "owner"),
        ("API", "type"),
        ("API", "lifecycle"),
        ("API", "owner"),
        ("API", "definition"),
        ("Resource", "type"),
        ("Resource", "owner"),
        ("System", "owner"),
        ("Domain", "owner"),
        ("Group", "type"),
        ("Group", "children"),
        ("User", "memberOf"),
        ("Template", "type"),
        ("Template", "steps"),
    ],
)
def test_missing_required_spec_field_is_rejected(kind: str, field: str) -> None:
    raw = descriptor(kind, "payments", **{f"spec__{field}": _DELETE})

    error = rejection(raw)

    assert error.entity == f"{kind.lower()}:default/payments"
    assert error.field is not None and error.field.startswith("spec")
    assert f"spec.{field}" in str(error)


@pytest.mark.parametrize(
    ("kind", "optional"),
    [
        ("Component", ["system", "subcomponentOf", "providesApis", "consumesApis", "dependsOn"]),
        ("API", ["system"]),
        ("Resource", ["system", "dependsOn"]),
        ("System", ["domain", "type"]),
        ("Domain", ["subdomainOf", "type"]),
        ("Group", ["parent", "members", "profile"]),
        ("User", ["profile"]),
        ("Location", ["type", "target", "targets", "presence"]),
        ("Template", ["owner", "lifecycle", "parameters", "output"]),
    ],
)
def test_optional_spec_fields_may_be_left_out(kind: str, optional: list[str]) -> None:
    raw = descriptor(kind)
    for field in optional:
        raw["spec"].pop(field, None)

    entity = validate_entity(raw)

    assert not set(optional) & set(entity.spec)


@pytest.mark.parametrize(
    ("kind", "field", "value"),
    [
        ("Component", "type", ""),
        ("Component", "owner", 42),
        ("Component", "providesApis", "petstore"),
        ("Resource", "owner", ["team-a"]),
        ("System", "owner", ""),
        ("Group", "children", "team-b"),
        ("User", "memberOf", "team-a"),
        ("Location", "presence", "sometimes"),
    ],
)
def test_wrongly_typed_spec_field_is_rejected(kind: str, field: str, value: Any) -> None:
    error = rejection(descriptor(kind, **{f"spec__{field}": value}))

    assert error.field is not None
    assert error.field.startswith(f"spec.{field}")


def test_api_definition_may_be_an_unresolved_remote_text_placeholder() -> None:
    remote = {"$text": "https://example.com/openapi.yaml"}

    entity = validate_entity(descriptor("API", spec__definition=remote))

    assert entity.spec["definition"] == remote


@pytest.mark.parametrize(
    "definition",
    [{"openapi": "3.0.0"}, {"$text": "./a.yaml", "extra": "x"}, "", 42],
    ids=["mapping", "placeholder-plus-key", "empty", "number"],
)
def test_api_definition_must_be_a_string_or_one_placeholder(definition: Any) -> None:
    error = rejection(descriptor("API", spec__definition=definition))

    assert error.entity == "api:default/example"
    assert "definition" in str(error)


def test_mcp_server_api_needs_remotes_instead_of_a_definition() -> None:
    raw = descriptor(
        "API",
        spec__type="mcp-server",
        spec__definition=_DELETE,
        spec__remotes=[{"type": "streamable-http", "url": "http://localhost:7007/api/mcp/v1"}],
    )

    entity = validate_entity(raw)

    assert "definition" not in entity.spec
    assert entity.spec["remotes"][0]["type"] == "streamable-http"


@pytest.mark.parametrize(
    ("remotes", "message"),
    [
        (_DELETE, "needs spec.remotes"),
        ([], "needs spec.remotes"),
        ([{"type": "sse"}], "spec.remotes[0].url"),
        ([{"url": "http://x"}], "spec.remotes[0].type"),
    ],
    ids=["missing", "empty", "no-url", "no-type"],
)
def test_mcp_server_api_without_usable_remotes_is_rejected(remotes: Any, message: str) -> None:
    raw = descriptor("API", spec__type="mcp-server", spec__definition=_DELETE)
    if remotes is not _DELETE:
        raw["spec"]["remotes"] = remotes

    error = rejection(raw)

    assert message in str(error)


def test_template_step_without_action_is_rejected() -> None:
    error = rejection(descriptor("Template", spec__steps=[{"id": "fetch"}]))

    assert error.entity == "template:default/example"
    assert "spec.steps[0].action" in str(error)


@pytest.mark.parametrize(
    ("kind", "api_version"),
    [
        ("Component", "backstage.io/v2"),
        ("Component", "scaffolder.backstage.io/v1beta3"),
        ("Group", "example.com/v1"),
        ("Template", "backstage.io/v1alpha1"),
        ("Template", "scaffolder.backstage.io/v1beta2"),
    ],
)
def test_api_version_not_valid_for_the_kind_is_rejected(kind: str, api_version: str) -> None:
    error = rejection(descriptor(kind, apiVersion=api_version))

    assert error.field == "apiVersion"
    assert api_version in error.message
    assert error.entity == f"{kind.lower()}:default/example"


@pytest.mark.parametrize("api_version", ["backstage.io/v1alpha1", "backstage.io/v1beta1"])
def test_both_backstage_api_versions_are_accepted(api_version: str) -> None:
    assert validate_entity(descriptor("Component", apiVersion=api_version)).api_version == (
        api_version
    )


@pytest.mark.parametrize("api_version", ["backstage.io", "", "Backstage.io/v1alpha1", "/v1"])
def test_malformed_api_version_is_rejected(api_version: str) -> None:
    assert rejection(descriptor("Component", apiVersion=api_version)).field == "apiVersion"


def test_unknown_top_level_field_is_rejected() -> None:
    assert rejection(descriptor("Component", specification={"a": 1})).field == "specification"


def test_descriptor_that_is_not_a_mapping_is_rejected() -> None:
    error = rejection(["apiVersion", "kind"], SourceLocation("catalog-info.yaml", 3))

    assert error.entity is None
    assert "must be a mapping" in error.message
    assert "got list" in error.message
    assert str(error).startswith("catalog-info.yaml:3: ")


def test_unknown_kinds_accept_any_spec_and_source_kinds_keep_extra_fields() -> None:
    raw = {
        "apiVersion": "example.com/v1",
        "kind": "Dashboard",
        "metadata": {"name": "payments"},
        "spec": {"provider": "grafana", "anything": [1, 2]},
    }
    assert validate_entity(raw).spec == raw["spec"]
    raw = {
        "apiVersion": "stagegraph.dev/v1alpha1",
        "kind": "Pipeline",
        "metadata": {"name": "payments-ci"},
        "spec": {"type": "github-actions", "anything": [1, 2]},
    }

    assert validate_entity(raw).spec == raw["spec"]


# --- metadata formats (Backstage's KubernetesValidatorFunctions tables) ---------------------


@pytest.mark.parametrize(
    "name", ["a", "AZ09", "a" * 63, "a-b", "a--b", "a_b", "a.b", "a..b", "LoremService"]
)
def test_valid_metadata_name_is_accepted(name: str) -> None:
    assert validate_entity(descriptor("Component", name)).metadata.name == name


@pytest.mark.parametrize("name", ["", "a" * 64, "a/b", "-a-b", "a-b-", "a b", "ünicode", 7])
def test_invalid_metadata_name_is_rejected(name: Any) -> None:
    assert rejection(descriptor("Component", name)).field == "metadata.name"


@pytest.mark.parametrize("namespace", ["a", "a" * 63, "a-b", "team-a1"])
def test_valid_metadata_namespace_is_accepted(namespace: str) -> None:
    entity = validate_entity(descriptor("Component", metadata__namespace=namespace))

    assert str(entity.ref) == f"component:{namespace}/example"


@pytest.mark.parametrize("namespace", ["", "a" * 64, "a/b", "-a-b", "a-b-", "a_b", "a.b", 7])
def test_invalid_metadata_namespace_is_rejected(namespace: Any) -> None:
    assert rejection(descriptor("Component", metadata__namespace=namespace)).field == (
        "metadata.namespace"
    )


@pytest.mark.parametrize("tag", ["java", "c++", "c#", "a:b", "go-lang", "v1", "a" * 63])
def test_valid_tag_is_accepted(tag: str) -> None:
    assert validate_entity(descriptor("Component", metadata__tags=[tag])).metadata.tags == [tag]


@pytest.mark.parametrize(
    "tag",
    ["Java", "my_tag", "a b", "", "a" * 64, "-a", "a-", "a--b", "a.b"],
)
def test_invalid_tag_is_rejected(tag: str) -> None:
    error = rejection(descriptor("Component", metadata__tags=["ok", tag]))

    assert error.field == "metadata.tags"
    assert repr(tag) in error.message


_LONG_PREFIX = ".".join(["a" * 63, "a" * 63, "a" * 63, "a" * 61])  # 253 characters


@pytest.mark.parametrize(
    "key",
    [
        "a",
        "AZ09",
        "a/b",
        "a-b.c/a",
        "example.com/team",
        "backstage.io/techdocs-ref",
        f"{_LONG_PREFIX}/a",
        f"a/{'a' * 63}",
    ],
)
def test_valid_label_and_annotation_keys_are_accepted(key: str) -> None:
    raw = descriptor("Component", metadata__labels={key: "v"}, metadata__annotations={key: "v"})

    entity = validate_entity(raw)

    assert key in entity.metadata.labels
    assert key in entity.metadata.annotations


@pytest.mark.parametrize(
    "key",
    [
        "",
        "-a-b",
        "a-b-",
        "a/b/c",
        "Example.com/a",
        f"{_LONG_PREFIX}a/a",
        f"a/{'a' * 64}",
        "a b",
    ],
)
@pytest.mark.parametrize("where", ["labels", "annotations"])
def test_invalid_label_and_annotation_keys_are_rejected(key: str, where: str) -> None:
    changes: dict[str, Any] = {f"metadata__{where}": {key: "v"}}

    error = rejection(descriptor("Component", **changes))

    assert error.field == f"metadata.{where}"
    assert repr(key) in error.message


@pytest.mark.parametrize("value", ["", "a", "a-b", "a..b", "a" * 63])
def test_valid_label_value_is_accepted(value: str) -> None:
    entity = validate_entity(descriptor("Component", metadata__labels={"k": value}))

    assert entity.metadata.labels == {"k": value}


@pytest.mark.parametrize("value", ["a b", "a/b", "-a", "a" * 64, 7])
def test_invalid_label_value_is_rejected(value: Any) -> None:
    assert rejection(descriptor("Component", metadata__labels={"k": value})).field is not None


@pytest.mark.parametrize("value", ["", "any text: with spaces / and slashes", "/" * 6000])
def test_any_string_is_a_valid_annotation_value(value: str) -> None:
    entity = validate_entity(descriptor("Component", metadata__annotations={"a/b": value}))

    assert entity.metadata.annotations["a/b"] == value


def test_annotation_value_must_be_a_string() -> None:
    error = rejection(descriptor("Component", metadata__annotations={"a/b": 7}))

    assert error.field is not None and error.field.startswith("metadata.annotations")


def test_link_without_url_is_rejected() -> None:
    error = rejection(descriptor("Component", metadata__links=[{"title": "Docs"}]))

    assert error.field is not None and error.field.startswith("metadata.links.0")


# --- refs inside spec -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "where"),
    [
        ("dependsOn", ["artists-db"], "spec.dependsOn[0]"),
        ("dependencyOf", ["component:ok", "payments"], "spec.dependencyOf[1]"),
        ("providesApis", [""], "spec.providesApis[0]"),
        ("owner", "team a", "spec.owner"),
        ("system", "sys/tem/x", "spec.system"),
    ],
)
def test_unparseable_ref_in_spec_names_the_field(field: str, value: Any, where: str) -> None:
    error = rejection(descriptor("Component", **{f"spec__{field}": value}))

    assert error.field == where
    assert error.entity == "component:default/example"


def test_depends_on_without_kind_explains_how_to_write_it() -> None:
    error = rejection(descriptor("Resource", spec__dependsOn=["db"]))

    assert error.field == "spec.dependsOn[0]"
    assert "write it as kind:name" in error.message
    assert "'db'" in error.message


# --- error message --------------------------------------------------------------------------


def test_error_names_location_entity_and_field() -> None:
    raw = descriptor("Component", "payments", spec__owner=_DELETE, metadata__namespace="finance")
    location = SourceLocation("services/payments/catalog-info.yaml", 12)

    error = rejection(raw, location)

    assert (error.entity, error.field, error.location) == (
        "component:finance/payments",
        "spec.owner",
        location,
    )
    assert str(error) == (
        "services/payments/catalog-info.yaml:12: component:finance/payments: "
        "spec.owner: is required but missing"
    )
    assert error.describe(with_location=False) == (
        "component:finance/payments: spec.owner: is required but missing"
    )


def test_error_for_an_entity_without_a_name_still_names_the_field() -> None:
    raw = descriptor("Component", metadata={"title": "No name"})

    error = rejection(raw, SourceLocation("catalog-info.yaml", 1))

    assert error.entity is None
    assert error.field == "metadata.name"


# --- cross-checks with Backstage's JSON Schemas ---------------------------------------------


@cache
def _schemas() -> dict[str, dict[str, Any]]:
    found = {}
    for path in sorted(SCHEMAS.rglob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        found[schema["$id"]] = schema
    return found


@cache
def _registry() -> Registry[Any]:
    resources = [
        (schema_id, Resource.from_contents(schema, default_specification=DRAFT7))
        for schema_id, schema in _schemas().items()
    ]
    return Registry().with_resources(resources)


def schema_errors(schema_id: str, document: Any) -> list[str]:
    validator = Draft7Validator(_schemas()[schema_id], registry=_registry())
    return [error.message for error in validator.iter_errors(document)]


#: Our kinds and their Backstage schema. AiResource (opt-in since Backstage 1.51) is not a
#: Stagegraph kind, so its schemas are not cross-checked.
KIND_SCHEMAS = {
    "Component": "ComponentV1alpha1",
    "API": "ApiV1alpha1",
    "Resource": "ResourceV1alpha1",
    "System": "SystemV1alpha1",
    "Domain": "DomainV1alpha1",
    "Group": "GroupV1alpha1",
    "User": "UserV1alpha1",
    "Location": "LocationV1alpha1",
    "Template": "TemplateV1beta3",
}


def schema_for(document: dict[str, Any]) -> str:
    if document["kind"] == "API" and document.get("spec", {}).get("type") == "mcp-server":
        return "ApiV1alpha1McpServer"
    return KIND_SCHEMAS[document["kind"]]


def _schema_examples() -> Iterator[Any]:
    for schema_id in [*KIND_SCHEMAS.values(), "ApiV1alpha1McpServer"]:
        for index, example in enumerate(_schemas()[schema_id].get("examples", [])):
            yield pytest.param(schema_id, example, id=f"{schema_id}[{index}]")


#: Schema examples whose labels hold a value Backstage's FieldFormatEntityPolicy refuses
#: (``isValidLabelValue``: empty or an object name, so no spaces). Backstage itself rejects
#: them at ingestion; the schemas do not check formats.
LABEL_VALUE_NOT_BACKSTAGE_VALID = {"ComponentV1alpha1", "ApiV1alpha1"}


def test_every_kind_schema_has_examples() -> None:
    counts = {
        schema_id: len(_schemas()[schema_id].get("examples", []))
        for schema_id in KIND_SCHEMAS.values()
    }

    assert all(count >= 1 for count in counts.values()), counts


@pytest.mark.parametrize(("schema_id", "example"), list(_schema_examples()))
def test_schema_example_is_valid_for_us_too(schema_id: str, example: dict[str, Any]) -> None:
    assert schema_errors(schema_id, example) == []
    if schema_id in LABEL_VALUE_NOT_BACKSTAGE_VALID:
        error = rejection(example)
        assert error.field == "metadata.labels"
        assert "Random value Generator" in error.message
        example = copy.deepcopy(example)
        example["metadata"]["labels"] = {
            key: value.replace(" ", "-") for key, value in example["metadata"]["labels"].items()
        }

    entity = validate_entity(example)

    assert entity.kind == example["kind"]
    assert entity.metadata.name == example["metadata"]["name"]
    assert entity.spec == example["spec"]


#: Content standing in for a remote ``$text`` target (spotify, wayback-archive and
#: wayback-search fetch their definition from GitHub; the tests do not use the network).
REMOTE_TEXT_STUB = "openapi: 3.0.0  # stub for a remote $text target"


@cache
def _example_documents() -> dict[str, dict[str, Any]]:
    """Every entity of all.yaml + acme-corp.yaml that we accept, ``$text`` resolved."""
    snapshot = transform_tree(
        DirTree(EXAMPLES), Origin(str(EXAMPLES), None), ["all.yaml", "acme-corp.yaml"]
    )
    assert not snapshot.errors and not snapshot.rejected
    documents = {}
    for found in snapshot.descriptors:
        document = found.entity.to_document()
        definition = document.get("spec", {}).get("definition")
        if is_placeholder(definition) and is_remote(next(iter(definition.values()))):
            document["spec"]["definition"] = REMOTE_TEXT_STUB
        documents[str(found.entity.ref)] = document
    return documents


def test_example_catalog_has_63_entities_for_the_schema_check() -> None:
    assert len(_example_documents()) == 63


@pytest.mark.parametrize("ref", sorted(_example_documents()))
def test_example_entity_we_accept_is_valid_under_its_kind_schema(ref: str) -> None:
    document = _example_documents()[ref]

    assert schema_errors(schema_for(document), document) == []


#: Mutations of a valid entity that Backstage's schema rejects; we must reject them too.
SCHEMA_REJECTED_MUTATIONS = [
    ("Component", "spec.type", _DELETE),
    ("Component", "spec.lifecycle", ""),
    ("Component", "spec.owner", 42),
    ("Component", "spec.owner", ["team-a"]),
    ("Component", "spec.providesApis", "petstore"),
    ("Component", "spec.providesApis", [""]),
    ("Component", "spec.dependsOn", [7]),
    ("Component", "spec", _DELETE),
    ("Component", "apiVersion", "backstage.io/v2"),
    ("Component", "metadata.name", _DELETE),
    ("Component", "metadata.tags", [""]),
    ("Component", "metadata.links", [{"title": "no url"}]),
    ("Component", "metadata.annotations", {"a/b": 1}),
    ("Component", "status2", {}),
    ("API", "spec.definition", _DELETE),
    ("API", "spec.definition", 42),
    ("Resource", "spec.owner", _DELETE),
    ("System", "spec.owner", {"name": "team-a"}),
    ("Domain", "spec.owner", ""),
    ("Group", "spec.children", _DELETE),
    ("Group", "spec.children", [""]),
    ("User", "spec.memberOf", _DELETE),
    ("User", "spec.memberOf", [1]),
    ("Location", "spec.presence", "sometimes"),
    ("Location", "spec.target", ""),
    ("Template", "spec.steps", _DELETE),
    ("Template", "spec.steps", [{"id": "no-action"}]),
    ("Template", "apiVersion", "backstage.io/v1alpha1"),
]


@pytest.mark.parametrize(
    ("kind", "path", "value"),
    SCHEMA_REJECTED_MUTATIONS,
    ids=[
        f"{kind}-{path}-{'deleted' if value is _DELETE else json.dumps(value)}"
        for kind, path, value in SCHEMA_REJECTED_MUTATIONS
    ],
)
def test_mutation_the_schema_rejects_is_rejected_by_us(kind: str, path: str, value: Any) -> None:
    valid = descriptor(kind)
    mutated = copy.deepcopy(valid)
    set_path(mutated, path, value)
    assert schema_errors(KIND_SCHEMAS[kind], valid) == []
    assert schema_errors(KIND_SCHEMAS[kind], mutated) != []

    error = rejection(mutated)

    assert error.field is not None


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("spec.remotes", _DELETE),
        ("spec.remotes", []),
        ("spec.remotes", [{"type": "sse"}]),
        ("spec.owner", _DELETE),
    ],
    ids=["no-remotes", "empty-remotes", "remote-without-url", "no-owner"],
)
def test_mcp_server_mutation_the_schema_rejects_is_rejected_by_us(path: str, value: Any) -> None:
    valid = descriptor(
        "API",
        spec__type="mcp-server",
        spec__definition=_DELETE,
        spec__remotes=[{"type": "streamable-http", "url": "http://localhost:7007/api/mcp/v1"}],
    )
    mutated = copy.deepcopy(valid)
    set_path(mutated, path, value)
    assert schema_errors("ApiV1alpha1McpServer", valid) == []
    assert schema_errors("ApiV1alpha1McpServer", mutated) != []

    error = rejection(mutated)

    assert error.entity == "api:default/example"
