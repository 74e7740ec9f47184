"""The sandboxed ``${{ }}`` rendering: Backstage's syntax and filters, types kept for a single
expression, and the sandbox refusing Python internals, files and huge values."""

from __future__ import annotations

import pytest

from scaffolder.errors import ExpressionError
from scaffolder.render import is_truthy, render_text, render_value

CONTEXT = {
    "parameters": {
        "name": "hello-world",
        "ports": [80, 443],
        "repoUrl": "github.com?owner=acme&repo=hello",
    },
    "steps": {"publish": {"output": {"remoteUrl": "https://github.com/acme/hello"}}},
}


def test_a_single_expression_keeps_its_type() -> None:
    assert render_value("${{ parameters.ports }}", CONTEXT) == [80, 443]
    assert render_value("  ${{ parameters.ports[0] }} ", CONTEXT) == 80
    assert render_value({"a": ["${{ parameters.name }}"]}, CONTEXT) == {"a": ["hello-world"]}


def test_text_around_expressions_renders_to_a_string() -> None:
    assert render_value("This is ${{ parameters.name }}", CONTEXT) == "This is hello-world"
    assert (
        render_value("${{ parameters.ports[0] }}-${{ parameters.ports[1] }}", CONTEXT) == "80-443"
    )


def test_backstage_filters() -> None:
    assert render_text("${{ parameters.name | dump }}", CONTEXT) == '"hello-world"'
    assert render_value("${{ parameters.repoUrl | parseRepoUrl }}", CONTEXT) == {
        "host": "github.com",
        "owner": "acme",
        "repo": "hello",
    }
    assert (
        render_value("${{ parameters.repoUrl | parseRepoUrl | pick('owner') }}", CONTEXT) == "acme"
    )
    assert render_value("${{ parameters.repoUrl | projectSlug }}", CONTEXT) == "acme/hello"
    assert render_value("${{ 'group:team-a' | parseEntityRef }}", CONTEXT) == {
        "kind": "group",
        "namespace": "default",
        "name": "team-a",
    }
    assert render_value("${{ steps['publish'].output.remoteUrl | upper }}", CONTEXT) == (
        "HTTPS://GITHUB.COM/ACME/HELLO"
    )


def test_missing_members_render_empty_as_in_nunjucks() -> None:
    assert render_value("${{ steps['skipped'].output.remoteUrl }}", CONTEXT) is None
    assert render_value("url: ${{ steps.skipped.output.x }}", CONTEXT) == "url: "


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("${{ ''.__class__.__mro__ }}", "'__class__' of a str value is not allowed"),
        ("x ${{ parameters.__class__ }}", "'__class__' of a dict value is not allowed"),
        ("${{ parameters.items.__self__ }}", "'__self__' of a"),
        ("{% include '/etc/passwd' %}", "no loader"),
        ("${{ 'a' * 100000000 }}", "over 1000000 items"),
        ("${{ 9 ** 99999999 }}", "exponent over 100"),
        ("${{ range(10) }}", "range"),
    ],
)
def test_the_sandbox_refuses_with_a_clear_error(text: str, said: str) -> None:
    with pytest.raises(ExpressionError, match=r"refused|could not render") as caught:
        render_value(text, CONTEXT)
    assert said in str(caught.value)


def test_if_reads_like_backstage() -> None:
    falsy: tuple[object, ...] = (False, "", "false", None, 0, [])
    assert not any(is_truthy(v) for v in falsy)
    assert all(is_truthy(v) for v in (True, "yes", 1, ["x"]))
