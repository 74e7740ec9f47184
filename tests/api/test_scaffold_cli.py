"""``stagegraph scaffold`` and ``stagegraph tasks``: a dry run prints the steps as they run and
the three rendered files; the task is listed."""

from __future__ import annotations

import asyncio
from pathlib import Path

from graph import open_store
from ingestors.git import ingest_git
from tests.api.server import cli
from tests.scaffolder.helpers import template_repo


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
