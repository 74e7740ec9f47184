"""A template's ``parameters``: one page or a list of pages, kept whole (``ui:*`` keys
included) for front ends, and the values checked against every page at once, each problem
listed under its field, defaults filled in."""

from __future__ import annotations

from pathlib import Path

import pytest

from scaffolder.errors import ParameterError
from scaffolder.run import check_task
from tests.scaffolder.helpers import local_template

PAGES = [
    {
        "title": "Service",
        "required": ["name", "tier"],
        "properties": {
            "name": {"type": "string", "ui:autofocus": True},
            "tier": {"type": "string", "enum": ["gold", "silver"]},
            "replicas": {"type": "integer", "default": 2},
        },
        "ui:order": ["name", "tier", "replicas"],
    },
    {
        "title": "Repository",
        "required": ["repoUrl"],
        "properties": {
            "repoUrl": {
                "type": "string",
                "ui:field": "RepoUrlPicker",
                "ui:options": {"allowedHosts": ["github.com"]},
            },
            "service": {
                "type": "object",
                "properties": {"port": {"type": "integer", "maximum": 65535}},
            },
        },
    },
]
STEPS = [{"id": "say", "action": "debug:log", "input": {"message": "hi"}}]


def test_pages_are_kept_whole_for_front_ends(tmp_path: Path) -> None:
    template = local_template(tmp_path, {"parameters": PAGES, "steps": STEPS})

    steps = template.parameter_schema()["steps"]

    assert [s["title"] for s in steps] == ["Service", "Repository"]
    assert steps[0]["schema"]["ui:order"] == ["name", "tier", "replicas"]
    assert steps[1]["schema"]["properties"]["repoUrl"]["ui:field"] == "RepoUrlPicker"


def test_one_page_is_a_list_of_one(tmp_path: Path) -> None:
    template = local_template(tmp_path, {"parameters": PAGES[0], "steps": STEPS})

    assert [s["title"] for s in template.parameter_schema()["steps"]] == ["Service"]
    assert check_task(template, {"name": "x", "tier": "gold"})["replicas"] == 2


def test_every_problem_on_every_page_is_listed_by_field(tmp_path: Path) -> None:
    template = local_template(tmp_path, {"parameters": PAGES, "steps": STEPS})
    values = {"name": 7, "tier": "bronze", "service": {"port": 70000}}

    with pytest.raises(ParameterError) as caught:
        check_task(template, values)

    fields = [field for field, _ in caught.value.problems]
    assert fields == ["name", "tier", "repoUrl", "service.port"]
    assert "'bronze' is not one of ['gold', 'silver']" in str(caught.value)
    assert "70000 is greater than the maximum of 65535" in str(caught.value)


def test_defaults_fill_values_not_given(tmp_path: Path) -> None:
    template = local_template(tmp_path, {"parameters": PAGES, "steps": STEPS})

    filled = check_task(
        template, {"name": "svc", "tier": "gold", "repoUrl": "github.com?owner=a&repo=b"}
    )

    given = check_task(
        template,
        {"name": "svc", "tier": "gold", "repoUrl": "github.com?owner=a&repo=b", "replicas": 5},
    )

    assert (filled["replicas"], given["replicas"]) == (2, 5)
