"""Entity refs: the four written forms, Backstage's defaulting, and the name rules."""

from __future__ import annotations

import pytest

from catalog.errors import InvalidRefError
from catalog.refs import EntityRef, parse_ref, ref_key


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("payments", EntityRef("component", "default", "payments")),
        ("api:payments", EntityRef("api", "default", "payments")),
        ("finance/payments", EntityRef("component", "finance", "payments")),
        ("resource:finance/payments-db", EntityRef("resource", "finance", "payments-db")),
    ],
    ids=["name", "kind:name", "namespace/name", "kind:namespace/name"],
)
def test_each_written_form_is_completed_from_the_defaults(text: str, expected: EntityRef) -> None:
    parsed = parse_ref(text, default_kind="component")

    assert parsed == expected


def test_explicit_kind_and_namespace_win_over_the_defaults() -> None:
    parsed = parse_ref("user:ops/jane", default_kind="group", default_namespace="finance")

    assert str(parsed) == "user:ops/jane"


def test_missing_namespace_comes_from_the_context() -> None:
    parsed = parse_ref("team-a", default_kind="group", default_namespace="development")

    assert str(parsed) == "group:development/team-a"


def test_ref_without_kind_and_without_default_kind_is_an_error() -> None:
    # dependsOn / dependencyOf have no default kind in Backstage.
    with pytest.raises(InvalidRefError) as caught:
        parse_ref("artists-db", default_kind=None)

    assert caught.value.ref == "artists-db"
    assert "kind is missing" in caught.value.reason
    assert "kind:name" in str(caught.value)


def test_ref_with_kind_needs_no_default_kind() -> None:
    parsed = parse_ref("resource:artists-db")

    assert str(parsed) == "resource:default/artists-db"


def test_kind_is_lowercased_and_namespace_and_name_keep_their_case() -> None:
    parsed = parse_ref("Component:Finance/Payments")

    assert (parsed.kind, parsed.namespace, parsed.name) == ("component", "Finance", "Payments")
    assert str(parsed) == "component:Finance/Payments"


def test_key_is_case_insensitive() -> None:
    written = [
        "Component:Default/Payments",
        "component:default/payments",
        "COMPONENT:DEFAULT/PAYMENTS",
    ]

    keys = {ref_key(text) for text in written}

    assert keys == {"component:default/payments"}
    assert EntityRef("API", "Default", "Petstore").key == "api:default/petstore"


def test_refs_differing_only_in_case_are_distinct_values_with_the_same_key() -> None:
    upper = parse_ref("component:default/Payments")
    lower = parse_ref("component:default/payments")

    assert upper != lower
    assert upper.key == lower.key


def test_surrounding_whitespace_is_ignored() -> None:
    assert str(parse_ref("  group:team-a \n")) == "group:default/team-a"


def test_ref_key_parses_strictly_without_defaults() -> None:
    with pytest.raises(InvalidRefError):
        ref_key("payments")


@pytest.mark.parametrize(
    "name",
    ["a", "AZ09", "a" * 63, "a-b", "a--b", "a_b", "a.b", "a..b", "Payments-API_v2.1"],
)
def test_valid_names_are_accepted(name: str) -> None:
    assert parse_ref(f"component:default/{name}").name == name


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (f"component:default/{'a' * 64}", "64 characters"),
        ("component:default/-a-b", "leading dash"),
        ("component:default/a-b-", "trailing dash"),
        ("component:default/_ab", "leading underscore"),
        ("component:default/a b", "space"),
        ("component:default/a/b", "slash in the name"),
        ("component:default/héllo", "non-ASCII letter"),
        ("component:default/", "empty name"),
    ],
)
def test_invalid_names_are_rejected(text: str, why: str) -> None:
    with pytest.raises(InvalidRefError, match="not a valid name"):
        parse_ref(text)


@pytest.mark.parametrize("namespace", ["a", "default", "team-a", "a" * 63, "ns1"])
def test_valid_namespaces_are_accepted(namespace: str) -> None:
    assert parse_ref(f"group:{namespace}/x").namespace == namespace


@pytest.mark.parametrize(
    ("namespace", "why"),
    [
        ("a" * 64, "64 characters"),
        ("-a-b", "leading dash"),
        ("a-b-", "trailing dash"),
        ("a_b", "underscore"),
        ("a.b", "dot"),
        ("", "empty"),
    ],
)
def test_invalid_namespaces_are_rejected(namespace: str, why: str) -> None:
    with pytest.raises(InvalidRefError, match="not a valid namespace"):
        parse_ref(f"group:{namespace}/x")


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("9api:x", "kind starts with a digit"),
        ("my-kind:x", "dash in kind"),
        (f"{'k' * 64}:x", "kind of 64 characters"),
    ],
)
def test_invalid_kinds_are_rejected(text: str, why: str) -> None:
    with pytest.raises(InvalidRefError, match="not a valid kind"):
        parse_ref(text)


def test_empty_kind_before_colon_is_rejected_even_with_a_default_kind() -> None:
    # Backstage rejects ":name"; it must not silently become the field's default kind.
    with pytest.raises(InvalidRefError, match="kind before ':' is empty"):
        parse_ref(":payments", default_kind="component")


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_ref_is_rejected(text: str) -> None:
    with pytest.raises(InvalidRefError, match="non-empty string"):
        parse_ref(text, default_kind="component")
