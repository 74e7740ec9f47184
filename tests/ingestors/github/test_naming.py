"""One repository's pipeline has one ref whichever source reads it: the git source's CI
files and the GitHub API both name it from the repository's full slug (``acme/payments`` ->
``acme-payments-ci``), even when neither checkout is named after the repository. Loopback
GitHub of :mod:`test_ingest`, real git repositories, both stores."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph.port import Direction, GraphStore
from ingestors.git import ingest_git
from ingestors.github.config import GithubSource
from ingestors.http import ETagCache
from tests.gitrepo import component
from tests.ingestors.github.test_ingest import (
    FakeSleep,
    GithubApi,
    ingest,
    make_repo,
    refs,
    repo_item,
)
from tests.loopback import LoopbackServer

WORKFLOW = "name: CI\non: [push]\njobs:\n  test: {runs-on: ubuntu-latest}\n"
SLUGGED = "metadata:\n  annotations:\n    github.com/project-slug: acme/payments\n"


async def test_git_ci_files_and_the_github_api_name_one_pipeline(
    store: GraphStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACME_GITHUB_TOKEN", "ghs_test")
    # A git source on a checkout named otherwise; its component names the GitHub repository.
    worker = make_repo(
        tmp_path / "worker-checkout",
        {
            "catalog-info.yaml": component("payments-worker").replace("metadata:\n", SLUGGED),
            ".github/workflows/ci.yml": WORKFLOW,
        },
    )
    # GitHub's clone of acme/payments, in a directory not named after it, no annotation.
    clone = make_repo(
        tmp_path / "clone",
        {"catalog-info.yaml": component("payments"), ".github/workflows/ci.yml": WORKFLOW},
    )
    with LoopbackServer() as server:
        GithubApi(server, [repo_item("payments", clone.url())]).install()
        source = GithubSource.model_validate(
            {
                "name": "acme-github",
                "org": "acme",
                "apiUrl": server.url,
                "tokenEnv": "ACME_GITHUB_TOKEN",
            }
        )
        git = await ingest_git(store, str(worker.path), name="payments-git")
        github = await ingest(store, source, ETagCache(), FakeSleep())
        again = await ingest_git(store, str(worker.path), name="payments-git")

    assert (git.status, github.status, again.status) == ("SUCCEEDED",) * 3, github.errors
    pipeline = "pipeline:default/acme-payments-ci"
    assert await refs(store, "pipeline") == {pipeline}
    found = await store.get_relations([pipeline], Direction.BOTH)
    assert {
        ("component:default/payments-worker", "builtBy", pipeline),
        ("component:default/payments", "builtBy", pipeline),
        ("build:default/acme-payments-ci-3", "runOf", pipeline),
    } <= {(r.source_ref, r.type, r.target_ref) for r in found}
    stored = (await store.get_entities([pipeline]))[pipeline].document
    assert stored["spec"]["repository"] == "acme/payments"
    assert "Jobs: test." in stored["metadata"]["description"]
