"""Template runs whose record is the store's, on both stores: a template kept in a git
repository publishes to a real bare repository with ``publish:git`` (``if``, ``fs:rename``,
``copyWithoutTemplating`` on the way) and then fails at a step: the stored task is ``failed``
at that step with its log, and nothing is registered; without the failing step the same
template registers its component. A task's secret is in none of the stored task, its
events, its error or its output."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from catalog.refs import parse_ref
from graph.port import Direction, GraphStore
from graph.tasks import task_to_json
from ingestors.push import push_entities
from scaffolder.tasks import SecretVault, create_task
from tests.gitrepo import component
from tests.scaffolder.helpers import task_worker, template_in_store

TEMPLATE_REF = "template:default/test-template"


def _bare(path: Path) -> Path:
    subprocess.run(["git", "init", "--quiet", "--bare", str(path)], check=True)
    return path


def _show(bare: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(bare), *args], check=True, capture_output=True, text=True
    ).stdout


def _publishing_template(remote: Path) -> dict[str, Any]:
    return {
        "parameters": {
            "required": ["name"],
            "properties": {
                "name": {"type": "string"},
                "docs": {"type": "boolean", "default": False},
                "breaks": {"type": "boolean", "default": True},
            },
        },
        "steps": [
            {
                "id": "fetch",
                "action": "fetch:template",
                "input": {
                    "url": "./skeleton",
                    "values": {"name": "${{ parameters.name }}"},
                    "copyWithoutTemplating": ["static/*"],
                },
            },
            {
                "id": "docs",
                "if": "${{ parameters.docs }}",
                "action": "fs:delete",
                "input": {"files": ["README.md"]},
            },
            {
                "id": "rename",
                "action": "fs:rename",
                "input": {"files": [{"from": "app.txt", "to": "${{ parameters.name }}.txt"}]},
            },
            {
                "id": "publish",
                "action": "publish:git",
                "input": {
                    "repoUrl": f"file://{remote}/${{{{ parameters.name }}}}.git",
                    "defaultBranch": "trunk",
                },
            },
            {
                "id": "broken",
                "if": "${{ parameters.breaks }}",
                "action": "fs:rename",
                "input": {"files": [{"from": "missing.txt", "to": "x.txt"}]},
            },
            {
                "id": "register",
                "action": "catalog:register",
                "input": {
                    "repoContentsUrl": "${{ steps.publish.output.repoContentsUrl }}",
                    "catalogInfoPath": "/catalog-info.yaml",
                },
            },
        ],
    }


SKELETON = {
    "app.txt": "app ${{ values.name }}\n",
    "README.md": "# ${{ values.name }}\n",
    "static/raw.txt": "kept ${{ values.name }}\n",
    "catalog-info.yaml": component("${{ values.name }}", owner="team-a"),
}


async def test_a_failing_step_fails_the_stored_task_there_and_registers_nothing(
    store: GraphStore, tmp_path: Path
) -> None:
    remote = tmp_path / "remote"
    remote.mkdir()
    _bare(remote / "svc.git")
    _bare(remote / "good.git")
    await template_in_store(store, tmp_path, _publishing_template(remote), SKELETON)
    worker = task_worker(store, tmp_path)

    failing = await create_task(store, "test-template", {"name": "svc"})
    assert await worker.run_once()
    failed = (await store.get_tasks([failing.id]))[failing.id]
    events = await store.get_task_events(failing.id)
    registered_after_failure = await store.get_locations()
    svc = await store.get_entities([parse_ref("component:default/svc").key])
    # The same template without the failing step registers what it published.
    passing = await create_task(store, "test-template", {"name": "good", "breaks": False})
    assert await worker.run_once()
    done = (await store.get_tasks([passing.id]))[passing.id]
    good = parse_ref("component:default/good").key

    assert (failed.status, failed.failed_step) == ("failed", "broken")
    assert "'missing.txt' does not exist" in (failed.error or "")
    assert [(s.id, s.status) for s in failed.steps] == [
        ("fetch", "completed"),
        ("docs", "skipped"),
        ("rename", "completed"),
        ("publish", "completed"),
        ("broken", "failed"),
        ("register", "skipped"),
    ]
    assert all(s.started_at and s.ended_at for s in failed.steps if s.status != "skipped")
    logged = [(e.body.get("stepId"), e.body.get("message", "")) for e in events]
    assert any(
        step == "broken" and "'missing.txt' does not exist" in message for step, message in logged
    )
    assert "register" not in {step for step, _ in logged}
    assert (events[-1].type, events[-1].body["status"]) == ("completion", "failed")
    assert registered_after_failure == [] and svc == {}
    assert sorted(_show(remote / "svc.git", "ls-tree", "-r", "--name-only", "trunk").split()) == [
        "README.md",
        "catalog-info.yaml",
        "static/raw.txt",
        "svc.txt",
    ]
    assert _show(remote / "svc.git", "show", "trunk:svc.txt") == "app svc\n"
    assert _show(remote / "svc.git", "show", "trunk:static/raw.txt") == "kept ${{ values.name }}\n"
    assert done.status == "completed", done.error
    assert [s.status for s in done.steps][-2:] == ["skipped", "completed"]
    (location,) = await store.get_locations()
    assert location.template == TEMPLATE_REF
    relations = {(r.type, r.target_ref) for r in await store.get_relations([good], Direction.OUT)}
    assert ("scaffoldedFrom", TEMPLATE_REF) in relations


async def test_a_task_secret_is_never_stored(store: GraphStore, tmp_path: Path) -> None:
    secret = "s3cr3t-token-value"
    await template_in_store(
        store,
        tmp_path,
        {
            "steps": [
                {
                    "id": "say",
                    "action": "debug:log",
                    "input": {"message": "token is ${{ secrets.token }}"},
                },
                {
                    "id": "push",
                    "action": "publish:git",
                    "input": {"repoUrl": "file:///nonexistent/${{ secrets.token }}.git"},
                },
            ],
            "output": {"text": [{"title": "t", "content": "${{ secrets.token }}"}]},
        },
        {},
    )
    vault = SecretVault()
    worker = task_worker(store, tmp_path, vault=vault)

    task = await create_task(
        store, "test-template", {}, secrets={"token": secret}, vault=vault, pin_to="worker-1"
    )
    stored_open = task_to_json((await store.get_tasks([task.id]))[task.id])
    assert await worker.run_once()

    done = (await store.get_tasks([task.id]))[task.id]
    events = await store.get_task_events(task.id)
    messages = [e.body.get("message") for e in events]
    assert (done.status, done.failed_step) == ("failed", "push")
    assert "token is ***" in messages
    assert "***" in (done.error or "")
    everything = json.dumps([stored_open, task_to_json(done), [e.body for e in events]])
    assert secret not in everything


async def test_user_is_the_catalog_entity_of_who_created_the_task(
    store: GraphStore, tmp_path: Path
) -> None:
    jo = {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "User",
        "metadata": {"name": "jo"},
        "spec": {"profile": {"displayName": "Jo Park", "email": "jo@acme.test"}, "memberOf": []},
    }
    await push_entities(store, "people", [jo])
    message = (
        "${{ user.ref }} ${{ user.entity.metadata.name }} ${{ user.entity.spec.profile.email }}"
    )
    await template_in_store(
        store,
        tmp_path,
        {"steps": [{"id": "who", "action": "debug:log", "input": {"message": message}}]},
        {},
    )
    worker = task_worker(store, tmp_path)

    known = await create_task(store, "test-template", {}, created_by="user:default/jo")
    unknown = await create_task(store, "test-template", {}, created_by="user:default/ann")
    assert await worker.run_once() and await worker.run_once()

    said = {
        task.id: [e.body.get("message") for e in await store.get_task_events(task.id)]
        for task in (known, unknown)
    }
    assert "user:default/jo jo jo@acme.test" in said[known.id]
    assert "user:default/ann ann " in said[unknown.id]
