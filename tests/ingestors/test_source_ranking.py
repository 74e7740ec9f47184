"""Sources rank: a configured (pulled) source outranks a pushed one for the same ref, on both
stores. Pushes go through ``push_entities``, runs through a real git repository."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from graph.port import Direction, GraphStore
from ingestors.git import ingest_git
from ingestors.push import PushConflictError, PushStatus, push_entities
from tests.gitrepo import GitRepo, component


def service(name: str, owner: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": name},
        "spec": {"type": "service", "lifecycle": "production", "owner": owner, **spec},
    }


def team(name: str, children: list[str], parent: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": "team", "children": children}
    if parent is not None:
        spec["parent"] = parent
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Group",
        "metadata": {"name": name},
        "spec": spec,
    }


async def _out(store: GraphStore, key: str) -> set[tuple[str, str, str]]:
    relations = await store.get_relations([key], Direction.OUT)
    return {(r.type, r.target_ref, r.source) for r in relations}


async def test_a_configured_source_takes_over_what_a_writer_pushed(
    store: GraphStore, tmp_path: Path
) -> None:
    pushed = await push_entities(
        store,
        "bot",
        [service("order-service", "squatters", dependsOn=["component:bot-db"]), service("x", "y")],
    )
    repo = GitRepo(tmp_path / "repo")
    repo.write("catalog-info.yaml", component("order-service", owner="team-a"))
    repo.commit()

    run = await ingest_git(store, str(repo.path), name="catalog")
    again = await ingest_git(store, str(repo.path), name="catalog")

    assert [r.status for r in pushed] == [PushStatus.CREATED, PushStatus.CREATED]
    assert run.status == "SUCCEEDED", run.errors
    assert run.errors == []
    assert run.warnings == [
        "took over 1 entities pushed to source 'bot' (a configured (pulled) source outranks "
        "a pushed one for the same ref): component:default/order-service"
    ]
    assert run.stats["takenOverEntities"] == 1
    assert [(c.kind, c.added) for c in run.counts] == [("component", 1)]
    stored = await store.get_entities(["component:default/order-service", "component:default/x"])
    assert stored["component:default/order-service"].source == "catalog"
    assert stored["component:default/order-service"].document["spec"]["owner"] == "team-a"
    assert stored["component:default/x"].source == "bot"  # the rest of the push stays
    assert await _out(store, "component:default/order-service") == {
        ("ownedBy", "group:default/team-a", "catalog")
    }
    assert again.warnings == []
    assert "takenOverEntities" not in again.stats
    assert [(c.kind, c.unchanged) for c in again.counts] == [("component", 1)]


async def test_a_relation_another_pushed_entity_declares_stays_after_a_takeover(
    store: GraphStore, tmp_path: Path
) -> None:
    await push_entities(store, "org-bot", [team("parent", ["child"]), team("child", [], "parent")])
    repo = GitRepo(tmp_path / "repo")
    repo.write("catalog-info.yaml", team_yaml("child"))
    repo.commit()

    run = await ingest_git(store, str(repo.path), name="org")

    assert run.status == "SUCCEEDED", run.errors
    # group:parent (still pushed) declares children: [child], so childOf stays, as bot's.
    assert await _out(store, "group:default/child") == {
        ("childOf", "group:default/parent", "org-bot")
    }


def team_yaml(name: str) -> str:
    return (
        "apiVersion: backstage.io/v1alpha1\nkind: Group\n"
        f"metadata:\n  name: {name}\nspec:\n  type: team\n  children: []\n"
    )


async def test_a_push_for_a_ref_a_configured_source_holds_is_refused_naming_the_rule(
    store: GraphStore, tmp_path: Path
) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.write("catalog-info.yaml", component("order-service", owner="team-a"))
    repo.commit()
    await ingest_git(store, str(repo.path), name="catalog")

    (result,) = await push_entities(store, "bot", [service("order-service", "squatters")])

    assert result.status is PushStatus.FAILED
    assert result.error is not None
    assert "held by the configured source 'catalog'" in result.error
    assert "a configured (pulled) source outranks a pushed one" in result.error
    stored = await store.get_entities(["component:default/order-service"])
    assert stored["component:default/order-service"].document["spec"]["owner"] == "team-a"


async def test_two_configured_sources_still_conflict(store: GraphStore, tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.write("catalog-info.yaml", component("order-service", owner="team-a"))
    repo.commit()
    await ingest_git(store, str(repo.path), name="first")

    second = await ingest_git(store, str(repo.path), name="second")

    assert second.status == "PARTIAL"
    assert "already defined by source 'first'" in second.errors[0].message
    assert second.warnings == []


async def test_a_push_may_not_use_a_configured_source_name(store: GraphStore) -> None:
    with pytest.raises(PushConflictError, match="'catalog' is a configured source"):
        await push_entities(store, "catalog", [service("a", "b")], configured={"catalog"})

    assert await store.get_entities(["component:default/a"]) == {}
