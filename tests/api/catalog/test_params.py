"""Reading the catalog API's query parameters as Backstage does (pure)."""

from __future__ import annotations

import pytest

from api.catalog.cursor import Query, decode, encode
from api.catalog.errors import InputError
from api.catalog.params import (
    parse_count,
    parse_fields,
    parse_filter,
    parse_order,
    parse_order_fields,
)
from graph.port import FieldCondition, FieldOrder, TextFilter


def test_pairs_in_one_filter_are_anded_and_filters_are_ored() -> None:
    sets = parse_filter(["kind=component, spec.type=service", "kind=API,spec.lifecycle"])

    assert sets == (
        (FieldCondition("kind", ("component",)), FieldCondition("spec.type", ("service",))),
        (FieldCondition("kind", ("API",)), FieldCondition("spec.lifecycle")),
    )


def test_a_key_repeated_in_one_filter_matches_any_of_its_values() -> None:
    assert parse_filter(["kind=user,KIND=group"]) == ((FieldCondition("kind", ("user", "group")),),)
    # "exists" or "has value x" is just "exists"
    assert parse_filter(["spec.type=x,spec.type"]) == ((FieldCondition("spec.type"),),)


def test_annotation_keys_with_dots_and_values_with_equals_signs_stay_whole() -> None:
    (conditions,) = parse_filter(["metadata.annotations.backstage.io/orphan=true,a=b=c"])

    assert conditions == (
        FieldCondition("metadata.annotations.backstage.io/orphan", ("true",)),
        FieldCondition("a", ("b=c",)),
    )


def test_empty_filters_are_ignored_and_a_missing_key_is_an_input_error() -> None:
    assert parse_filter(["", " , "]) == ()
    with pytest.raises(InputError, match="has no key"):
        parse_filter(["kind=user,=x"])


def test_fields_and_orders() -> None:
    assert parse_fields(["metadata.name, kind", "kind,spec"]) == ["metadata.name", "kind", "spec"]
    assert parse_order_fields(["metadata.name,DESC", "kind"]) == [
        FieldOrder("metadata.name", descending=True),
        FieldOrder("kind"),
    ]
    assert parse_order(["asc:kind", "desc:metadata.name"]) == [
        FieldOrder("kind"),
        FieldOrder("metadata.name", descending=True),
    ]
    with pytest.raises(InputError, match="orderField"):
        parse_order_fields(["metadata.name,up"])
    with pytest.raises(InputError, match="order"):
        parse_order(["metadata.name"])
    with pytest.raises(InputError, match="at most 4"):
        parse_order_fields(["a", "b", "c", "d", "e"])


def test_counts_are_whole_numbers_zero_or_more() -> None:
    assert parse_count("limit", "0") == 0
    assert parse_count("limit", None) is None
    for bad in ("-1", "ten", "1.5"):
        with pytest.raises(InputError, match="invalid limit"):
            parse_count("limit", bad)


def test_a_cursor_round_trips_and_a_tampered_one_is_an_input_error() -> None:
    query = Query(
        ((FieldCondition("kind", ("component",)),), (FieldCondition("spec.type"),)),
        (FieldOrder("metadata.name", descending=True),),
        TextFilter("pet", ("metadata.name",)),
        40,
    )

    assert decode(encode(query)) == query
    for bad in ("not base64!", encode(query)[:-8], "eyJvZmZzZXQiOi0xfQ=="):
        with pytest.raises(InputError, match="malformed cursor"):
            decode(bad)
