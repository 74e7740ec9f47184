"""Custom kinds: ``catalog.rules`` (and a source's ``rules``) admit kinds of an installation's
own, stored and served like any entity (GraphQL ``GenericEntity`` with its spec as JSON, REST
verbatim); kinds outside the rules are refused at their file and line, naming the setting."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from api.app import create_app
from api.config import ConfigError, build_settings
from api.settings import Settings
from catalog.rules import KindRule, KindRules
from graph.port import GraphStore
from ingestors.git import ingest_git
from ingestors.push import PushStatus, push_entities
from ingestors.runner import RunPolicy
from schema import build_schema
from schema.context import Context
from tests.gitrepo import GitRepo

WIDGET = """\
apiVersion: acme.com/v1
kind: Widget
metadata:
  name: gizmo
  description: A widget of our own
spec:
  colour: blue
  parts: [a, b]
"""
COMPONENT = """\
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: shop
spec:
  type: service
  lifecycle: production
  owner: team-a
"""
GROUP = """\
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-a
spec:
  type: team
  children: []
"""


def _repo(tmp_path: Path) -> GitRepo:
    repo = GitRepo(tmp_path / "catalog")
    repo.write("catalog-info.yaml", WIDGET + COMPONENT + GROUP)
    repo.commit()
    return repo


def test_without_rules_the_built_in_kinds_are_admitted_and_the_refusal_names_the_setting() -> None:
    rules = KindRules(config="stagegraph.yaml")

    assert rules.admits("component") and rules.admits("CloudAccount")
    assert not rules.admits("Widget")
    assert "catalog.rules setting in stagegraph.yaml" in rules.refusal("Widget")
    assert rules.for_source("acme", (KindRule(allow=("widget",)),)).admits("Widget")


def test_with_rules_only_what_they_allow_is_admitted() -> None:
    rules = KindRules((KindRule(allow=("Component", "Widget")),), config="stagegraph.yaml")

    assert rules.admits("WIDGET") and rules.admits("component")
    assert not rules.admits("Group")
    own = rules.for_source("people", (KindRule(allow=("Group",)),))
    assert own.admits("Group")
    assert own.refusal("User") == (
        "kind 'User' is not allowed by catalog.rules or the rules of source 'people' in "
        "stagegraph.yaml (allowed: Component, Widget, Group); add User to an allow list of "
        "catalog.rules"
    )


def test_the_config_file_takes_catalog_rules_and_source_rules(tmp_path: Path) -> None:
    config = tmp_path / "stagegraph.yaml"
    config.write_text(
        "catalog:\n"
        "  rules:\n"
        "    - allow: [Component, API, Widget]\n"
        "sources:\n"
        "  - name: people\n"
        "    type: git\n"
        "    url: /srv/people\n"
        "    rules: [{allow: [Group, User]}]\n"
    )

    settings = build_settings(Settings, config, {"config": config})

    assert isinstance(settings, Settings)
    assert settings.catalog_rules == (KindRule(allow=("Component", "API", "Widget")),)
    assert settings.sources[0].rules == (KindRule(allow=("Group", "User")),)
    assert settings.run_policy().kinds.admits("widget")


def test_a_rule_that_names_no_kind_is_refused_at_its_line(tmp_path: Path) -> None:
    config = tmp_path / "stagegraph.yaml"
    config.write_text("catalog:\n  rules:\n    - allow: [Component, 'not a kind']\n")

    with pytest.raises(ConfigError) as caught:
        build_settings(Settings, config, {})

    assert caught.value.problems[0].startswith(f"{config}:3: catalog.rules[0].allow: ")
    assert "'not a kind' is not a kind" in caught.value.problems[0]


async def test_a_kind_outside_the_rules_is_refused_at_its_file_and_line(
    store: GraphStore, tmp_path: Path
) -> None:
    repo = _repo(tmp_path)

    run = await ingest_git(store, repo.url(), name="acme")

    assert run.status == "PARTIAL"
    assert [(e.file, e.entity) for e in run.errors] == [
        ("catalog-info.yaml:1", "widget:default/gizmo")
    ]
    assert "unknown kind 'Widget'" in run.errors[0].message
    assert "catalog.rules" in run.errors[0].message
    assert set(await store.get_entities(["widget:default/gizmo"])) == set()


async def test_built_in_kinds_the_rules_leave_out_are_refused(
    store: GraphStore, tmp_path: Path
) -> None:
    repo = _repo(tmp_path)
    rules = KindRules((KindRule(allow=("Component", "Widget")),), config="stagegraph.yaml")

    run = await ingest_git(store, repo.url(), name="acme", policy=RunPolicy(kinds=rules))

    assert [(e.file, e.entity) for e in run.errors] == [
        ("catalog-info.yaml:19", "group:default/team-a")
    ]
    assert "kind 'Group' is not allowed by catalog.rules in stagegraph.yaml" in (
        run.errors[0].message
    )
    stored = await store.get_entities(["widget:default/gizmo", "component:default/shop"])
    assert set(stored) == {"widget:default/gizmo", "component:default/shop"}


async def test_a_custom_kind_is_served_as_a_generic_entity_and_verbatim_over_rest(
    store: GraphStore, tmp_path: Path
) -> None:
    repo = _repo(tmp_path)
    policy = RunPolicy().for_source("acme", (KindRule(allow=("Widget",)),))

    run = await ingest_git(store, repo.url(), name="acme", policy=policy)

    assert run.status == "SUCCEEDED", run.errors
    result = await build_schema().execute(
        """{ entity(ref: "widget:default/gizmo") { __typename kind description
               ... on GenericEntity { spec } } }""",
        context_value=Context(store),
    )
    assert result.errors is None
    assert result.data == {
        "entity": {
            "__typename": "GenericEntity",
            "kind": "Widget",
            "description": "A widget of our own",
            "spec": {"colour": "blue", "parts": ["a", "b"]},
        }
    }
    app = create_app(Settings(store=f"sqlite:///{tmp_path / 'unused.db'}"), store=store)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test/api/catalog"
        ) as client,
    ):
        answer = await client.get("/entities/by-name/widget/default/gizmo")
    assert answer.status_code == 200
    body = answer.json()
    assert (body["apiVersion"], body["kind"]) == ("acme.com/v1", "Widget")
    assert body["spec"] == {"colour": "blue", "parts": ["a", "b"]}


async def test_a_push_takes_a_custom_kind_the_rules_admit(store: GraphStore) -> None:
    document = {
        "apiVersion": "acme.com/v1",
        "kind": "Widget",
        "metadata": {"name": "pushed"},
        "spec": {"colour": "red"},
    }

    refused = await push_entities(store, "scripts", [document])
    admitted = await push_entities(
        store, "scripts", [document], kinds=KindRules((KindRule(allow=("Widget",)),))
    )

    assert refused[0].status is PushStatus.FAILED
    assert refused[0].error is not None and "catalog.rules" in refused[0].error
    assert admitted[0].status is PushStatus.CREATED
