"""The GitLab source end to end: a loopback GitLab API, the shared runner, both stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from catalog.errors import SourceLocation
from catalog.validation import validate_entity
from graph.port import Direction, GraphStore, RunRecord
from ingestors.git import ingest_git
from ingestors.gitlab import GITLAB, GitlabSource, read_gitlab
from ingestors.lookup import CatalogLookup
from ingestors.runner import run_ingestion
from ingestors.snapshot import Descriptor, Snapshot
from tests.gitrepo import GitRepo, component
from tests.ingestors.gitlab.fake_gitlab import FakeGitlab
from tests.ingestors.gitlab.recorded import LEGACY, PAYMENTS, SEARCH
from tests.loopback import LoopbackServer, RecordedSleep

TOKEN = "glpat-test-token"
PAYMENTS_KEYS = [
    "component:default/payments",
    "api:default/payments-api",
    "pipeline:default/acme-platform-payments-gitlab-ci",
    "build:default/acme-platform-payments-gitlab-ci-1",
    "build:default/acme-platform-payments-gitlab-ci-2",
    "build:default/acme-platform-payments-gitlab-ci-3",
    "deployment:default/acme-platform-payments-production-701",
    "deployment:default/acme-platform-payments-staging-702",
    "deployment:default/acme-platform-payments-production-703",
]
SEARCH_KEYS = [
    "location:default/search-location",
    "component:default/search-indexer",
    "component:default/search-query",
    "pipeline:default/acme-platform-search-gitlab-ci",
    "build:default/acme-platform-search-gitlab-ci-1",
]
ENVIRONMENT_KEYS = ["environment:default/production", "environment:default/staging"]


Waits = RecordedSleep


@pytest.fixture
def gitlab() -> Iterator[FakeGitlab]:
    with LoopbackServer() as server:
        yield FakeGitlab(server)


async def _run(
    store: GraphStore,
    gitlab: FakeGitlab,
    waits: Waits | None = None,
    scope: tuple[str, ...] = (),
    **options: object,
) -> RunRecord:
    config = GitlabSource.model_validate(
        {"name": "acme-gitlab", "group": "acme/platform", "apiUrl": gitlab.api_url, **options}
    )

    async def fetch() -> Snapshot:
        return await read_gitlab(
            config,
            CatalogLookup(store),
            token=TOKEN,
            sleep=waits or Waits(),
            max_wait=60,
            scope=scope,
        )

    return await run_ingestion(
        store, source="acme-gitlab", source_type="gitlab", fetch=fetch, scope=scope
    )


async def _relations(store: GraphStore, key: str) -> set[tuple[str, str, str]]:
    found = await store.get_relations([key], Direction.BOTH)
    return {(r.source_ref.lower(), r.type, r.target_ref.lower()) for r in found}


async def _present(store: GraphStore, keys: list[str]) -> list[str]:
    return sorted(await store.get_entities(keys))


async def test_group_is_read_to_the_last_page_with_the_rate_limit_honoured(
    store: GraphStore, gitlab: FakeGitlab
) -> None:
    gitlab.rate_limit_first = 1
    waits = Waits()

    run = await _run(store, gitlab, waits)

    assert run.status == "SUCCEEDED", run.errors
    assert waits.waits == [7.0]  # the 429's Retry-After
    listing = gitlab.server.requests_to("/api/v4/groups/acme%2Fplatform/projects")
    assert [r.param("page") for r in listing] == [None, None, "2", "3"]
    assert {r.param("include_subgroups") for r in listing} == {"true"}
    assert {r.headers.get("private-token") for r in gitlab.server.requests} == {TOKEN}
    assert run.stats["apiCalls"] == len(gitlab.server.requests)
    assert run.stats["rateLimitRemaining"] == 1990
    assert run.skipped == [
        f"{LEGACY}: no catalog-info.yaml on main and no component annotated "
        f"gitlab.com/project-slug: {LEGACY}"
    ]
    keys = PAYMENTS_KEYS + SEARCH_KEYS + ENVIRONMENT_KEYS
    assert await _present(store, keys) == sorted(keys)
    stored = (await store.get_entities(["build:default/acme-platform-payments-gitlab-ci-2"]))[
        "build:default/acme-platform-payments-gitlab-ci-2"
    ]
    assert stored.document["spec"]["durationSeconds"] == 95.0  # from the pipeline's details


async def test_builds_deployments_and_environments_are_related(
    store: GraphStore, gitlab: FakeGitlab
) -> None:
    await _run(store, gitlab)

    pipeline = "pipeline:default/acme-platform-payments-gitlab-ci"
    assert ("component:default/payments", "builtBy", pipeline) in await _relations(store, pipeline)
    assert (
        "build:default/acme-platform-payments-gitlab-ci-1",
        "runOf",
        pipeline,
    ) in await _relations(store, pipeline)
    deployment = "deployment:default/acme-platform-payments-production-703"
    assert await _relations(store, deployment) == {
        (deployment, "deploys", "component:default/payments"),
        (deployment, "deployedTo", "environment:default/production"),
    }
    production = await _relations(store, "environment:default/production")
    assert {
        ("component:default/payments", "deployedTo", "environment:default/production"),
        ("component:default/search-indexer", "deployedTo", "environment:default/production"),
        ("component:default/search-query", "deployedTo", "environment:default/production"),
    } <= production


async def test_builds_beyond_the_retention_are_pruned(
    store: GraphStore, gitlab: FakeGitlab
) -> None:
    await _run(store, gitlab, buildsPerPipeline=2)
    newest = dict(gitlab.pipelines[PAYMENTS][0])
    newest.update(
        id=9004,
        iid=4,
        status="success",
        created_at="2024-05-03T09:00:00.000Z",
        started_at="2024-05-03T09:00:01.000Z",
        duration=30,
    )
    gitlab.pipelines[PAYMENTS].insert(0, newest)
    gitlab.refresh()

    run = await _run(store, gitlab, buildsPerPipeline=2)

    assert run.status == "SUCCEEDED", run.errors
    builds = [f"build:default/acme-platform-payments-gitlab-ci-{n}" for n in (1, 2, 3, 4)]
    assert await _present(store, builds) == builds[2:]


async def test_a_deleted_project_is_cleaned_up(store: GraphStore, gitlab: FakeGitlab) -> None:
    await _run(store, gitlab)
    gitlab.projects = [p for p in gitlab.projects if p["path_with_namespace"] != SEARCH]

    run = await _run(store, gitlab)

    assert run.status == "SUCCEEDED", run.errors
    # Its builds go with its pipeline (retention keeps events only while what they hang off
    # is alive).
    assert await _present(store, SEARCH_KEYS) == []
    assert await _present(store, PAYMENTS_KEYS) == sorted(PAYMENTS_KEYS)
    production = await store.get_entities(["environment:default/production"])
    assert production["environment:default/production"].document["spec"]["components"] == [
        "component:default/payments"
    ]


async def test_a_scoped_run_reads_one_project_and_cleans_up_only_there(
    store: GraphStore, gitlab: FakeGitlab
) -> None:
    await _run(store, gitlab)
    before = await store.get_entities(PAYMENTS_KEYS)
    gitlab.server.requests.clear()
    gitlab.projects = [p for p in gitlab.projects if p["path_with_namespace"] != SEARCH]

    run = await _run(store, gitlab, scope=(f"gitlab/{SEARCH}",))

    assert (run.status, run.scope) == ("SUCCEEDED", [f"gitlab/{SEARCH}"])
    assert await _present(store, SEARCH_KEYS) == []
    after = await store.get_entities(PAYMENTS_KEYS)
    assert {k: e.run_id for k, e in after.items()} == {k: e.run_id for k, e in before.items()}
    assert [r.path for r in gitlab.server.requests] == [
        f"/api/v4/projects/{quote(SEARCH, safe='')}"
    ]


async def test_a_failing_project_deletes_nothing_of_it(
    store: GraphStore, gitlab: FakeGitlab
) -> None:
    await _run(store, gitlab)
    gitlab.failing.add(PAYMENTS)
    gitlab.deployments[PAYMENTS] = []  # would be gone, were the project read
    waits = Waits()

    run = await _run(store, gitlab, waits)

    assert run.status == "PARTIAL"
    assert [e.file for e in run.errors] == [PAYMENTS]
    assert "HTTP 500" in run.errors[0].message
    # retried with backoff before giving up on the project: maxAttempts 3, retryBackoff 1s
    assert waits.waits == [1.0, 2.0]
    keys = PAYMENTS_KEYS + SEARCH_KEYS + ENVIRONMENT_KEYS
    assert await _present(store, keys) == sorted(keys)
    assert (
        "component:default/payments",
        "deployedTo",
        "environment:default/production",
    ) in await _relations(store, "environment:default/production")


async def test_catalog_components_are_linked_by_their_project_slug(
    store: GraphStore, gitlab: FakeGitlab
) -> None:
    cli = {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {
            "name": "legacy-cli",
            "annotations": {"gitlab.com/project-slug": "Acme/Platform/Legacy-Tools"},
        },
        "spec": {"type": "tool", "lifecycle": "deprecated", "owner": "team-tools"},
    }

    async def catalog() -> Snapshot:
        entity = validate_entity(cli)
        return Snapshot("test", descriptors=[Descriptor(entity, SourceLocation("cli.yaml"))])

    await run_ingestion(store, source="catalog", source_type="test", fetch=catalog)
    gitlab.files[LEGACY][".gitlab-ci.yml"] = "stages: [lint]\nlint:\n  script: [make lint]\n"
    legacy = dict(gitlab.pipelines[SEARCH][0], id=9201, iid=7, project_id=103)
    gitlab.pipelines[LEGACY] = [legacy]
    gitlab.refresh()

    run = await _run(store, gitlab)

    assert run.status == "SUCCEEDED", run.errors
    assert run.skipped == []
    pipeline = "pipeline:default/acme-platform-legacy-tools-gitlab-ci"
    assert await _relations(store, pipeline) == {
        ("component:default/legacy-cli", "builtBy", pipeline),
        ("build:default/acme-platform-legacy-tools-gitlab-ci-7", "runOf", pipeline),
    }


async def test_the_ci_file_pipeline_merges_with_the_git_sources(
    store: GraphStore, gitlab: FakeGitlab
) -> None:
    # The git source reads .gitlab-ci.yml of the same repository as a deferred Pipeline of
    # the same name, linked to a component of its own.
    from_file = {
        "apiVersion": "stagegraph.dev/v1alpha1",
        "kind": "Pipeline",
        "metadata": {"name": "acme-platform-payments-gitlab-ci", "title": "payments CI"},
        "spec": {
            "type": "gitlab-ci",
            "path": ".gitlab-ci.yml",
            "components": ["component:default/payments-worker"],
        },
    }

    async def git() -> Snapshot:
        entity = validate_entity(from_file)
        return Snapshot(
            "git", descriptors=[Descriptor(entity, SourceLocation(".gitlab-ci.yml"), defer=True)]
        )

    first = await run_ingestion(store, source="payments-git", source_type="git", fetch=git)
    run = await _run(store, gitlab)
    again = await run_ingestion(store, source="payments-git", source_type="git", fetch=git)

    assert (first.status, run.status, again.status) == ("SUCCEEDED",) * 3, run.errors
    assert run.stats["deferredEntities"] == 1
    pipeline = "pipeline:default/acme-platform-payments-gitlab-ci"
    stored = (await store.get_entities([pipeline]))[pipeline]
    assert stored.source == "payments-git"
    assert {
        ("component:default/payments-worker", "builtBy", pipeline),
        ("component:default/payments", "builtBy", pipeline),
        ("build:default/acme-platform-payments-gitlab-ci-3", "runOf", pipeline),
    } <= await _relations(store, pipeline)


async def test_the_registered_fetcher_sends_the_token_from_the_environment(
    store: GraphStore, gitlab: FakeGitlab, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACME_GITLAB_TOKEN", "glpat-from-env")
    config = GitlabSource.model_validate(
        {
            "name": "acme-gitlab",
            "type": "gitlab",
            "group": "acme/platform",
            "apiUrl": gitlab.api_url,
            "tokenEnv": "ACME_GITLAB_TOKEN",
        }
    )

    fetch = GITLAB.fetcher(config, CatalogLookup(store))
    run = await run_ingestion(store, source="acme-gitlab", source_type="gitlab", fetch=fetch)

    assert run.status == "SUCCEEDED", run.errors
    assert {r.headers.get("private-token") for r in gitlab.server.requests} == {"glpat-from-env"}


async def test_the_git_sources_gitlab_ci_pipeline_is_the_same_pipeline(
    store: GraphStore, gitlab: FakeGitlab, tmp_path: Path
) -> None:
    repo = GitRepo(tmp_path / "payments-worker")
    repo.write(
        "catalog-info.yaml",
        component("payments-worker").replace(
            "metadata:\n",
            "metadata:\n  annotations:\n    gitlab.com/project-slug: acme/platform/payments\n",
        ),
    )
    repo.write(".gitlab-ci.yml", "stages: [build]\nbuild:\n  script: [make]\n")
    repo.commit()

    from_git = await ingest_git(store, str(repo.path), name="payments-git")
    run = await _run(store, gitlab)

    assert from_git.status == "SUCCEEDED", from_git.errors
    assert run.status == "SUCCEEDED", run.errors
    assert run.stats["deferredEntities"] == 1
    pipeline = "pipeline:default/acme-platform-payments-gitlab-ci"
    assert (await store.get_entities([pipeline]))[pipeline].source == "payments-git"
    assert {
        ("component:default/payments-worker", "builtBy", pipeline),
        ("component:default/payments", "builtBy", pipeline),
        ("build:default/acme-platform-payments-gitlab-ci-1", "runOf", pipeline),
    } <= await _relations(store, pipeline)


TWIN = "acme/platform/legacy/payments"
TWIN_DESCRIPTOR = """apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: payments-legacy
  namespace: legacy
spec:
  type: service
  lifecycle: deprecated
  owner: team-legacy
"""


async def test_same_named_projects_of_two_subgroups_keep_their_own_pipelines(
    store: GraphStore, gitlab: FakeGitlab
) -> None:
    # acme/platform/payments and acme/platform/legacy/payments: both named "payments".
    payments = gitlab.project(PAYMENTS)
    twin_url = f"https://gitlab.example.com/{TWIN}"
    gitlab.projects.append(
        {
            **payments,
            "id": 104,
            "name_with_namespace": "Acme / Platform / Legacy / payments",
            "path_with_namespace": TWIN,
            "web_url": twin_url,
            "http_url_to_repo": f"{twin_url}.git",
        }
    )
    ci_file = gitlab.files[PAYMENTS][".gitlab-ci.yml"]
    gitlab.files[TWIN] = {"catalog-info.yaml": TWIN_DESCRIPTOR, ".gitlab-ci.yml": ci_file}
    gitlab.pipelines[TWIN] = [dict(p, project_id=104) for p in gitlab.pipelines[PAYMENTS]]
    gitlab.environments[TWIN] = list(gitlab.environments[PAYMENTS])
    gitlab.deployments[TWIN] = list(gitlab.deployments[PAYMENTS])
    gitlab.refresh()

    run = await _run(store, gitlab)

    assert run.status == "SUCCEEDED", run.errors
    ours = "pipeline:default/acme-platform-payments-gitlab-ci"
    theirs = "pipeline:legacy/acme-platform-legacy-payments-gitlab-ci"
    builds = [f"build:default/acme-platform-payments-gitlab-ci-{n}" for n in (1, 2, 3)]
    twin_builds = [f"build:legacy/acme-platform-legacy-payments-gitlab-ci-{n}" for n in (1, 2, 3)]
    keys = [ours, theirs, *builds, *twin_builds]
    assert await _present(store, keys) == sorted(keys)
    assert {
        ("component:legacy/payments-legacy", "builtBy", theirs),
        ("build:legacy/acme-platform-legacy-payments-gitlab-ci-3", "runOf", theirs),
    } <= await _relations(store, theirs)
    assert ("component:legacy/payments-legacy", "builtBy", ours) not in await _relations(
        store, ours
    )
    # Environments are shared whatever the components' namespace: one production for both.
    deployment = "deployment:legacy/acme-platform-legacy-payments-production-703"
    assert await _relations(store, deployment) == {
        (deployment, "deploys", "component:legacy/payments-legacy"),
        (deployment, "deployedTo", "environment:default/production"),
    }
    assert await _present(store, ["environment:legacy/production"]) == []
    production = await _relations(store, "environment:default/production")
    assert {
        ("component:default/payments", "deployedTo", "environment:default/production"),
        ("component:legacy/payments-legacy", "deployedTo", "environment:default/production"),
    } <= production
