"""Reading descriptor files: documents and their lines, YAML errors, limits, placeholders."""

from __future__ import annotations

import json
import time

import pytest
import yaml

from catalog import descriptors
from catalog.descriptors import (
    MAX_ALIASES,
    MAX_DEPTH,
    MAX_DESCRIPTOR_BYTES,
    MAX_NODES,
    is_placeholder,
    parse_descriptors,
    resolve_placeholders,
)
from catalog.errors import SourceLocation

COMPONENT = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: {name}
"""


class Files:
    """A ``read`` function over a dict that records which paths were asked for."""

    def __init__(self, files: dict[str, str]) -> None:
        self.files = files
        self.asked: list[str] = []

    def __call__(self, path: str) -> str:
        self.asked.append(path)
        try:
            return self.files[path]
        except KeyError:
            raise FileNotFoundError(path) from None


def billion_laughs(levels: int = 9) -> str:
    """The classic alias bomb: 9 levels of 9 aliases each (72 aliases, 9**9 leaves)."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    previous = "a"
    for name in "bcdefghi"[: levels - 1]:
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
        previous = name
    return "\n".join(lines) + "\n"


# --- documents and line numbers ------------------------------------------------------------


def test_every_document_of_a_file_is_read_with_the_line_it_starts_on() -> None:
    text = (
        "# leading comment\n"  # 1
        + COMPONENT.format(name="first")  # 2-5
        + "---\n"  # 6
        + "---\n"  # 7: empty document
        + "# only a comment\n"  # 8
        + "---\n"  # 9
        + "\n"  # 10
        + COMPONENT.format(name="second")  # 11-14
        + "---\n"  # 15
        + COMPONENT.format(name="third")  # 16-19
    )

    parsed = parse_descriptors(text, "services/catalog-info.yaml")

    assert parsed.error is None
    assert [d.data["metadata"]["name"] for d in parsed.documents] == ["first", "second", "third"]
    assert [d.location for d in parsed.documents] == [
        SourceLocation("services/catalog-info.yaml", 2),
        SourceLocation("services/catalog-info.yaml", 11),
        SourceLocation("services/catalog-info.yaml", 16),
    ]


def test_empty_file_has_no_documents_and_no_error() -> None:
    parsed = parse_descriptors("# nothing here\n---\n", "catalog-info.yaml")

    assert (parsed.documents, parsed.error) == ([], None)


def test_anchors_and_a_few_aliases_are_fine() -> None:
    text = "x: &owner team-a\nspec:\n  owner: *owner\n  also: *owner\n"

    parsed = parse_descriptors(text, "a.yaml")

    assert parsed.error is None
    assert parsed.documents[0].data["spec"] == {"owner": "team-a", "also": "team-a"}


# --- YAML errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "where", "problem"),
    [
        ("a: 1\n  b: 2\n", "bad.yaml:2:4", "mapping values are not allowed here"),
        ("key: value\n\tbad: tab\n", "bad.yaml:2:1", "cannot start any token"),
        ("a: [1, 2\nb: 3\n", "bad.yaml:2:2", "expected ',' or ']'"),
    ],
    ids=["indentation", "tab", "unclosed-flow"],
)
def test_yaml_syntax_error_reports_line_and_column(text: str, where: str, problem: str) -> None:
    parsed = parse_descriptors(text, "bad.yaml")

    assert parsed.error is not None
    assert str(parsed.error.location) == where
    assert problem in parsed.error.message
    assert str(parsed.error).startswith(f"{where}: YAML error: ")


def test_documents_before_a_syntax_error_are_kept() -> None:
    text = COMPONENT.format(name="good") + "---\n" + "kind: [Component\nspec: {}\n"

    parsed = parse_descriptors(text, "mixed.yaml")

    assert [d.data["metadata"]["name"] for d in parsed.documents] == ["good"]
    assert parsed.error is not None
    assert parsed.error.location.file == "mixed.yaml"
    assert parsed.error.location.line == 7


# --- limits ---------------------------------------------------------------------------------


def test_billion_laughs_is_refused() -> None:
    parsed = parse_descriptors(billion_laughs(), "bomb.yaml")

    assert parsed.documents == []
    assert parsed.error is not None
    assert f"more than {MAX_NODES} nodes" in parsed.error.message
    assert parsed.error.location == SourceLocation("bomb.yaml", 1)


def test_too_many_aliases_are_refused_at_the_first_alias_over_the_limit() -> None:
    text = "x: &x v\nlist:\n" + "  - *x\n" * (MAX_ALIASES + 1)

    parsed = parse_descriptors(text, "aliases.yaml")

    assert parsed.documents == []
    assert parsed.error is not None
    assert f"more than {MAX_ALIASES} aliases" in parsed.error.message
    assert str(parsed.error.location) == f"aliases.yaml:{MAX_ALIASES + 3}:5"


def test_aliases_up_to_the_limit_are_accepted() -> None:
    text = "x: &x v\nlist:\n" + "  - *x\n" * MAX_ALIASES

    parsed = parse_descriptors(text, "aliases.yaml")

    assert parsed.error is None
    assert parsed.documents[0].data["list"] == ["v"] * MAX_ALIASES


def _padded(total_bytes: int, filler: str = "x") -> str:
    """A valid descriptor padded by a comment to exactly ``total_bytes`` UTF-8 bytes."""
    body = COMPONENT.format(name="big")
    room = total_bytes - len(body.encode()) - len("# \n")
    per_char = len(filler.encode())
    text = "# " + filler * (room // per_char) + "x" * (room % per_char) + "\n" + body
    assert len(text.encode()) == total_bytes
    return text


def test_file_of_exactly_the_size_limit_is_read() -> None:
    parsed = parse_descriptors(_padded(MAX_DESCRIPTOR_BYTES), "big.yaml")

    assert parsed.error is None
    assert parsed.documents[0].data["metadata"]["name"] == "big"


def test_file_over_the_size_limit_is_refused() -> None:
    parsed = parse_descriptors(_padded(MAX_DESCRIPTOR_BYTES + 1), "big.yaml")

    assert parsed.documents == []
    assert parsed.error is not None
    assert parsed.error.location == SourceLocation("big.yaml")
    assert f"larger than {MAX_DESCRIPTOR_BYTES} bytes" in parsed.error.message


def test_size_limit_counts_bytes_not_characters() -> None:
    text = _padded(MAX_DESCRIPTOR_BYTES + 2, filler="é")
    assert len(text) <= MAX_DESCRIPTOR_BYTES

    parsed = parse_descriptors(text, "big.yaml")

    assert parsed.error is not None
    assert "larger than" in parsed.error.message


# --- placeholders ---------------------------------------------------------------------------


def test_text_json_and_yaml_placeholders_are_replaced_by_the_file_content() -> None:
    read = Files(
        {
            "./openapi.yaml": "openapi: 3.0.0\n",
            "./profile.json": '{"displayName": "Team A", "size": 5}',
            "../shared/links.yaml": "- url: https://example.com\n  title: Home\n",
        }
    )
    spec = {
        "definition": {"$text": "./openapi.yaml"},
        "profile": {"$json": "./profile.json"},
        "nested": [{"links": {"$yaml": "../shared/links.yaml"}}],
        "type": "openapi",
    }

    resolution = resolve_placeholders(spec, read)

    assert (resolution.warnings, resolution.errors) == ([], [])
    assert resolution.data == {
        "definition": "openapi: 3.0.0\n",
        "profile": {"displayName": "Team A", "size": 5},
        "nested": [{"links": [{"url": "https://example.com", "title": "Home"}]}],
        "type": "openapi",
    }
    assert sorted(read.asked) == ["../shared/links.yaml", "./openapi.yaml", "./profile.json"]


def test_input_is_not_modified() -> None:
    spec = {"definition": {"$text": "./a.txt"}}

    resolve_placeholders(spec, Files({"./a.txt": "A"}))

    assert spec == {"definition": {"$text": "./a.txt"}}


def test_remote_placeholder_is_left_as_is_with_a_warning_and_never_read() -> None:
    url = "https://github.com/APIs-guru/openapi-directory/blob/main/openapi.yaml"
    read = Files({})

    resolution = resolve_placeholders({"definition": {"$text": url}}, read)

    assert resolution.data == {"definition": {"$text": url}}
    assert resolution.warnings == [
        f"definition: $text {url} is remote and was not fetched; left unresolved"
    ]
    assert resolution.errors == []
    assert read.asked == []


def test_unreadable_target_is_left_as_is_with_an_error() -> None:
    resolution = resolve_placeholders({"definition": {"$text": "./gone.yaml"}}, Files({}))

    assert resolution.data == {"definition": {"$text": "./gone.yaml"}}
    assert resolution.warnings == []
    assert len(resolution.errors) == 1
    assert resolution.errors[0].startswith("definition: $text ./gone.yaml could not be read")


@pytest.mark.parametrize(
    ("key", "content"),
    [("$json", "{not json"), ("$yaml", "a: [1\n")],
)
def test_invalid_json_or_yaml_target_is_left_as_is_with_an_error(key: str, content: str) -> None:
    resolution = resolve_placeholders({"data": {key: "./x"}}, Files({"./x": content}))

    assert resolution.data == {"data": {key: "./x"}}
    assert len(resolution.errors) == 1
    assert resolution.errors[0].startswith(f"data: {key} ./x is not valid")


def test_yaml_placeholder_target_gets_the_alias_limits_too() -> None:
    resolution = resolve_placeholders(
        {"data": {"$yaml": "./bomb.yaml"}}, Files({"./bomb.yaml": billion_laughs()})
    )

    assert resolution.data == {"data": {"$yaml": "./bomb.yaml"}}
    assert len(resolution.errors) == 1
    assert "nodes" in resolution.errors[0]


def test_placeholder_without_a_path_string_is_left_with_an_error() -> None:
    resolution = resolve_placeholders({"definition": {"$text": 5}}, Files({}))

    assert resolution.data == {"definition": {"$text": 5}}
    assert resolution.errors == ["definition: $text needs a path string; left unresolved"]


def test_resolved_content_is_not_resolved_again() -> None:
    inner = json.dumps({"$text": "./secret"})

    resolution = resolve_placeholders(
        {"data": {"$json": "./a.json"}}, Files({"./a.json": inner, "./secret": "S"})
    )

    assert resolution.data == {"data": {"$text": "./secret"}}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"$text": "./a"}, True),
        ({"$json": "./a"}, True),
        ({"$yaml": "./a"}, True),
        ({"$text": "./a", "other": 1}, False),
        ({"$ref": "./a"}, False),
        ("$text", False),
        ([{"$text": "./a"}], False),
    ],
)
def test_is_placeholder(value: object, expected: bool) -> None:
    assert is_placeholder(value) is expected


# --- libyaml and the pure-Python loader -----------------------------------------------------

SAME_EITHER_WAY = {
    "scalars": "a: 0x1F\nb: 1_000\nc: .inf\nd: yes\ne: ~\nf: '1'\ng: !!int '5'\nh: 2001-12-14\n",
    "binary": "a: !!binary aGVsbG8=\n",
    "merge-key": "base: &b {x: 1}\nitem:\n  <<: *b\n  y: 2\n",
    "set-and-omap": "s: !!set {a, b}\no: !!omap [{a: 1}, {b: 2}]\n",
    "nested-flow": "a: [1, {b: [c, {d: e}]}, []]\n",
    "unicode": "name: café\nnote: 日本\n",
    "documents": COMPONENT.format(name="one")
    + "---\n# empty\n---\n"
    + COMPONENT.format(name="two"),
}


@pytest.mark.parametrize("text", SAME_EITHER_WAY.values(), ids=SAME_EITHER_WAY.keys())
def test_documents_are_what_the_pure_python_safe_loader_reads(text: str) -> None:
    expected = [d for d in yaml.load_all(text, Loader=yaml.SafeLoader) if d is not None]

    parsed = parse_descriptors(text, "same.yaml")

    assert parsed.error is None
    assert [d.data for d in parsed.documents] == expected


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML was built without libyaml")
def test_valid_files_are_read_by_libyaml(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("the pure-Python loader read a valid file")

    monkeypatch.setattr(descriptors, "_LimitedLoader", refuse)

    parsed = parse_descriptors(
        COMPONENT.format(name="fast") + SAME_EITHER_WAY["merge-key"], "a.yaml"
    )

    assert parsed.error is None
    assert parsed.documents[0].data["metadata"]["name"] == "fast"


def test_constructor_errors_are_reported_as_the_pure_python_loader_words_them() -> None:
    parsed = parse_descriptors(COMPONENT.format(name="ok") + "---\n? [a, b]\n: 1\n", "keys.yaml")

    assert [d.data["metadata"]["name"] for d in parsed.documents] == ["ok"]
    assert parsed.error is not None
    assert "found unhashable key" in parsed.error.message
    assert parsed.error.location.line == 6


def test_yaml_nested_too_deeply_is_an_error_not_a_crash() -> None:
    parsed = parse_descriptors("a: " + "[" * 5000 + "]" * 5000 + "\n", "deep.yaml")

    assert parsed.documents == []
    assert parsed.error is not None
    assert "nested more than 1000 levels deep" in parsed.error.message
    assert (parsed.error.location.file, parsed.error.location.line) == ("deep.yaml", 1)


# --- bytes and shapes that used to abort a run -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "where"),
    [("\x00kind: Component\n", "nul.yaml:1:1"), ("a: 1\nb: x\x07y\n", "nul.yaml:2:5")],
    ids=["leading-nul", "bell-inside"],
)
def test_a_control_character_is_an_error_at_its_line_not_an_exception(
    text: str, where: str
) -> None:
    parsed = parse_descriptors(text, "nul.yaml")

    assert parsed.error is not None
    assert str(parsed.error.location) == where
    assert "is not allowed in YAML" in parsed.error.message


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 400, 5000], ids=["just-over", "400", "5000"])
def test_deep_nesting_is_an_error_with_a_line_and_fast(depth: int) -> None:
    text = COMPONENT.format(name="ok") + "---\nkind: Component\nspec:\n  x: "
    text += "[" * depth + "]" * depth + "\n"

    started = time.perf_counter()
    parsed = parse_descriptors(text, "deep.yaml")

    assert time.perf_counter() - started < 0.5
    assert [d.data["metadata"]["name"] for d in parsed.documents] == ["ok"]
    assert parsed.error is not None
    assert parsed.error.location.line is not None
    assert "nested more than" in parsed.error.message


def test_json_placeholder_nested_too_deeply_is_an_error() -> None:
    deep = "[" * 3000 + "]" * 3000

    resolution = resolve_placeholders({"data": {"$json": "./x.json"}}, Files({"./x.json": deep}))

    assert resolution.data == {"data": {"$json": "./x.json"}}
    assert len(resolution.errors) == 1
    assert "nested more than" in resolution.errors[0]
