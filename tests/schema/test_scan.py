"""The scan before parsing (schema.scan): each cap refuses a document over it, early, and
counts nothing inside strings or comments."""

from __future__ import annotations

import pytest

from schema.scan import DocumentCaps, scan_document, scan_remembered

CAPS = DocumentCaps()


def refused(text: str, caps: DocumentCaps = CAPS) -> tuple[str, str]:
    error = scan_document(text, caps).error
    assert error is not None, "expected a refusal"
    assert error.extensions is not None
    assert error.extensions["code"] == "QUERY_TOO_COMPLEX"
    return str(error.extensions["limit"]), error.message


def fields(count: int) -> str:
    """``count`` fields of different names."""
    return "".join(f" a{i}" for i in range(count))


def operations(count: int) -> str:
    return " ".join(f"query q{i} {{ __typename }}" for i in range(count))


def test_a_normal_document_passes_with_its_operations_counted() -> None:
    text = """query Page($first: Int = 20) @cached(ttl: {seconds: 5}) {
      entities(first: $first) { edges { node { ref ...Owner } } }
    }
    mutation Push { deleteEntities(source: "bot", refs: []) }
    { __typename }
    fragment Owner on Entity { owner { ref } }"""

    scan = scan_document(text, CAPS)

    assert scan.error is None
    assert scan.operations == 3


def test_20_operations_pass_and_21_are_refused() -> None:
    assert scan_document(operations(20), CAPS).error is None
    assert refused(operations(21)) == (
        "operations",
        "the document has more than 20 operations: send one operation per request (the "
        "others are parsed and checked for nothing)",
    )


def test_anonymous_operations_count_too() -> None:
    assert refused("{ a } " * 21)[0] == "operations"


def test_directives_over_the_cap_are_refused() -> None:
    document = "{ __typename " + "@skip(if: false) " * 51 + "}"

    assert refused(document) == (
        "directives",
        "the document has more than 50 directives: use fewer @skip/@include; one on a parent "
        "field covers its children",
    )
    assert scan_document("{ __typename " + "@skip(if: false) " * 50 + "}", CAPS).error is None


def test_fragments_over_the_cap_are_refused() -> None:
    fragments = " ".join(f"fragment f{i} on Query {{ __typename }}" for i in range(101))

    assert refused("{ __typename } " + fragments)[0] == "fragments"


def test_tokens_over_the_cap_are_refused_comments_included() -> None:
    assert refused("{" + fields(2_000) + "}")[0] == "tokens"
    assert refused("#\n" * 2_001 + "{ a }")[0] == "tokens"
    assert scan_document("{" + fields(1_998) + "}", CAPS).error is None


def test_a_long_document_is_refused_before_it_is_read() -> None:
    limit, message = refused('{ entity(ref: "' + "x" * 100_000 + '") { ref } }')

    assert limit == "length"
    assert message.startswith("the document has more than 100000 characters")


def test_deep_nesting_is_refused() -> None:
    assert refused("{" + " a {" * 64 + " b" + " }" * 65)[0] == "nesting"
    assert scan_document("{" + " a {" * 62 + " b" + " }" * 63, CAPS).error is None


@pytest.mark.parametrize(
    "inside",
    [
        '"@ { query fragment @"',
        '"""@ { query \\""" fragment @ "quoted" """',
        '"escaped \\" @ {"',
    ],
)
def test_strings_and_comments_count_as_one_token_and_nothing_else(inside: str) -> None:
    caps = DocumentCaps(max_directives=0, max_operations=1, max_fragments=0, max_tokens=14)
    text = f"{{ entity(ref: {inside}) {{ ref }} }} # @ {{ query fragment @\n"

    scan = scan_document(text, caps)

    assert scan.error is None
    assert scan.operations == 1


def test_the_scan_stops_at_the_first_cap_it_passes() -> None:
    # An unterminated string after the cap is never read: the scan refuses at token 2,001.
    text = "{" + fields(2_500) + ' "' + "x" * 50_000

    assert refused(text)[0] == "tokens"


def test_more_than_30_copies_of_one_field_in_a_selection_set_are_refused() -> None:
    assert refused("{" + " __typename" * 31 + "}") == (
        "repeats",
        "the document has more than 30 copies of one field in a selection set: ask for each "
        "field once, and give copies with different arguments different aliases",
    )
    assert refused("{" + ' entity(ref: "x") { ref }' * 31 + "}")[0] == "repeats"
    assert refused("{ entities { edges { node {" + " ref" * 31 + " } } } }")[0] == "repeats"
    assert refused("{" + ' e: entity(ref: "x") { ref }' * 31 + "}")[0] == "repeats"  # an alias
    assert scan_document("{" + " __typename" * 30 + "}", CAPS).error is None


def test_repeats_count_response_names_per_selection_set_and_nothing_else() -> None:
    # Aliased copies, one field (`ref`) in many sets, arguments, input objects, directives, spreads
    # and type conditions are not repeats.
    aliased = "".join(f' e{i}: entity(ref: "x") {{ ref }}' for i in range(40))
    arguments = "x(" + " ".join("a: {a: a, a: [a]}" for _ in range(40)) + ")"
    spreads = " ...F" * 40 + " ... on Query { a }" * 40 + " a @skip(if: a)" * 20
    document = (
        f"query Q($a: Int = 1) {{ {aliased} {arguments} {spreads} }} fragment F on Query {{ on }}"
    )
    caps = DocumentCaps(max_directives=100)

    assert scan_document(document, caps).error is None


def test_a_remembered_scan_answers_as_a_fresh_one() -> None:
    passed = operations(3)
    refused = "{" + fields(2_100) + "}"

    for text in (passed, passed, refused, refused):
        remembered, fresh = scan_remembered(text, CAPS), scan_document(text, CAPS)

        assert remembered.operations == fresh.operations
        assert (remembered.error is None) == (fresh.error is None)
    assert scan_remembered(refused, CAPS).error is not scan_remembered(refused, CAPS).error
