"""``stagegraph scaffold`` and ``stagegraph tasks``: a dry run prints the steps as they run and
the three rendered files; the task is listed. On both stores, a run publishes to a real bare
repository, registers the component and prints the output links; a failing run exits 1 and
``tasks --status failed`` lists it."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

from catalog.refs import parse_ref
from graph import open_store
from graph.port import GraphStore
from ingestors.git import ingest_git
from tests.api.server import cli
from tests.gitrepo import component
from tests.scaffolder.helpers import template_in_store, template_repo


async def _load(store_url: str, tmp_path: Path) -> None:
    store = open_store(store_url)
    await store.setup()
    try:
        repo = template_repo(tmp_path)
        await ingest_git(
            store, str(repo.path), name="templates", paths=["example-nodejs-template/template.yaml"]
        )
    finally:
        await store.close()


def test_scaffold_dry_run_and_tasks(tmp_path: Path) -> None:
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    asyncio.run(_load(store_url, tmp_path))

    done = cli(
        store_url,
        "scaffold",
        "example-nodejs-template",
        "--set",
        "name=hello-world",
        "--set",
        "repoUrl=github.com?owner=acme&repo=hello-world",
        "--dry-run",
    )
    listed = cli(store_url, "tasks")

    assert done.returncode == 0, done.stderr
    assert "[fetch-base] Beginning step Fetch Base" in done.stderr
    assert "dry run: would create acme/hello-world on github.com" in done.stderr
    assert "completed" in done.stdout
    assert "--- index.js\nconsole.log('Hello from hello-world!');" in done.stdout
    assert "completed" in listed.stdout and "example-nodejs-template" in listed.stdout


PUBLISHING = {
    "parameters": {"required": ["name"], "properties": {"name": {"type": "string"}}},
    "steps": [
        {
            "id": "fetch",
            "action": "fetch:template",
            "input": {"url": "./skeleton", "values": {"name": "${{ parameters.name }}"}},
        },
        {
            "id": "publish",
            "action": "publish:git",
            "input": {"repoUrl": "${{ parameters.remote }}/${{ parameters.name }}.git"},
        },
        {
            "id": "register",
            "action": "catalog:register",
            "input": {"repoContentsUrl": "${{ steps.publish.output.repoContentsUrl }}"},
        },
    ],
    "output": {
        "links": [
            {"title": "Repository", "url": "${{ steps.publish.output.remoteUrl }}"},
            {"title": "In the catalog", "entityRef": "${{ steps.register.output.entityRef }}"},
        ]
    },
}


def _bare(path: Path) -> None:
    subprocess.run(["git", "init", "--quiet", "--bare", str(path)], check=True)


def _scaffold_twice(store_url: str, remote: Path) -> tuple[Any, Any, Any]:
    def scaffold(name: str) -> Any:
        return cli(
            store_url,
            "scaffold",
            "test-template",
            "--set",
            f"name={name}",
            "--set",
            f"remote=file://{remote}",
        )

    return scaffold("svc"), scaffold("nowhere"), cli(store_url, "tasks", "--status", "failed")


async def test_scaffold_publishes_registers_and_exits_1_when_a_step_fails(
    store: GraphStore, store_url: str, tmp_path: Path
) -> None:
    remote = tmp_path / "remote"
    _bare(remote / "svc.git")
    await template_in_store(
        store,
        tmp_path,
        PUBLISHING,
        {"catalog-info.yaml": component("${{ values.name }}", owner="team-a")},
    )

    done, failed, listed = _scaffold_twice(store_url, remote)

    assert done.returncode == 0, done.stderr
    assert "[publish] pushed" in done.stderr
    assert f"Repository: file://{remote}/svc.git" in done.stdout
    assert "In the catalog: component:default/svc" in done.stdout
    key = parse_ref("component:default/svc").key
    assert key in await store.get_entities([key])
    assert failed.returncode == 1
    assert "failed" in failed.stdout and "nowhere.git" in failed.stdout
    assert listed.stdout.count("test-template") == 1
