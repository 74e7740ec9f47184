"""The Jenkins source end to end: a loopback Jenkins, the shared runner, both stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from catalog.errors import SourceLocation
from catalog.validation import validate_entity
from graph.port import Direction, GraphStore, RunRecord
from ingestors.git import ingest_git
from ingestors.jenkins import JENKINS, JenkinsSource, read_jenkins
from ingestors.lookup import CatalogLookup
from ingestors.runner import run_ingestion
from ingestors.snapshot import Descriptor, Snapshot
from tests.gitrepo import GitRepo, component
from tests.ingestors.jenkins.fake_jenkins import CRUMB, SESSION, TOKEN, USER, FakeJenkins
from tests.loopback import LoopbackServer, RecordedSleep

PLATFORM_KEYS = [
    "pipeline:default/acme-platform-search-jenkins",
    "build:default/acme-platform-search-jenkins-7",
    "pipeline:infra/jenkins-platform-infra-apply",
    "build:infra/jenkins-platform-infra-apply-3",
]


Waits = RecordedSleep


@pytest.fixture
def jenkins() -> Iterator[FakeJenkins]:
    with LoopbackServer() as server:
        yield FakeJenkins(server)


def _component(name: str, annotations: dict[str, str], namespace: str = "default") -> Descriptor:
    raw: dict[str, Any] = {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": name, "namespace": namespace, "annotations": annotations},
        "spec": {"type": "service", "lifecycle": "production", "owner": "team-a"},
    }
    return Descriptor(validate_entity(raw), SourceLocation(f"{name}.yaml"))


async def _seed_catalog(store: GraphStore) -> None:
    components = [
        _component("payments", {"github.com/project-slug": "acme/payments"}),
        _component("search", {"gitlab.com/project-slug": "acme/platform/search"}),
        _component(
            "terraform", {"jenkins.io/job-full-name": "jenkins-main:Platform/Infra-Apply"}, "infra"
        ),
    ]

    async def fetch() -> Snapshot:
        return Snapshot("test", descriptors=components)

    await run_ingestion(store, source="catalog", source_type="test", fetch=fetch)


async def _run(
    store: GraphStore, jenkins: FakeJenkins, waits: Waits | None = None, **options: object
) -> RunRecord:
    config = JenkinsSource.model_validate(
        {"name": "ci-jenkins", "url": jenkins.url, "user": USER, **options}
    )

    async def fetch() -> Snapshot:
        return await read_jenkins(config, CatalogLookup(store), token=TOKEN, sleep=waits or Waits())

    return await run_ingestion(store, source="ci-jenkins", source_type="jenkins", fetch=fetch)


async def _relations(store: GraphStore, key: str) -> set[tuple[str, str, str]]:
    found = await store.get_relations([key], Direction.BOTH)
    return {(r.source_ref.lower(), r.type, r.target_ref.lower()) for r in found}


async def _present(store: GraphStore, keys: list[str]) -> list[str]:
    return sorted(await store.get_entities(keys))


async def test_jobs_and_builds_are_read_and_linked(store: GraphStore, jenkins: FakeJenkins) -> None:
    await _seed_catalog(store)

    run = await _run(store, jenkins)

    assert run.status == "SUCCEEDED", run.errors
    assert run.skipped == [
        "cron-monitor: a hudson.model.ExternalJob is not a job this source reads"
    ]
    assert run.stats["apiCalls"] == len(jenkins.server.requests)
    assert run.stats["jobs"] == 6
    builds_calls = jenkins.server.requests_to("/job/platform/job/search-build/api/json")
    assert [r.param("tree") for r in builds_calls] == [
        "displayName,description,builds[number,result,building,timestamp,duration,url,"
        "actions[remoteUrls,lastBuiltRevision[SHA1,branch[name]]]]{0,20}"
    ]
    payments = "pipeline:default/acme-payments-jenkins"
    relations = await _relations(store, payments)
    assert ("component:default/payments", "builtBy", payments) in relations
    assert {
        (f"build:default/acme-payments-jenkins-{b}", "runOf", payments)
        for b in ("main-12", "main-13", "main-14", "feature-retry-1", "feature-retry-2")
    } <= relations
    search = "pipeline:default/acme-platform-search-jenkins"
    assert ("component:default/search", "builtBy", search) in await _relations(store, search)
    infra = "pipeline:infra/jenkins-platform-infra-apply"
    assert await _relations(store, infra) == {
        ("component:infra/terraform", "builtBy", infra),
        ("build:infra/jenkins-platform-infra-apply-3", "runOf", infra),
    }
    stored = (await store.get_entities(["build:default/acme-payments-jenkins-main-13"]))[
        "build:default/acme-payments-jenkins-main-13"
    ]
    assert stored.document["spec"]["durationSeconds"] == 241.5


async def test_build_ranges_and_retention_keep_the_newest(
    store: GraphStore, jenkins: FakeJenkins
) -> None:
    await _run(store, jenkins, buildsPerPipeline=2)
    main = jenkins.bodies["/job/team-payments/job/payments/job/main/api/json"]
    newest = dict(
        main["builds"][1], number=15, timestamp=main["builds"][0]["timestamp"] + 86_400_000
    )
    newest["url"] = newest["url"].replace("/13/", "/15/")
    main["builds"].insert(0, newest)

    run = await _run(store, jenkins, buildsPerPipeline=2)

    assert run.status == "SUCCEEDED", run.errors
    branch_calls = jenkins.server.requests_to("/job/team-payments/job/payments/job/main/api/json")
    assert {(r.param("tree") or "").rsplit("]", 1)[-1] for r in branch_calls} == {"{0,2}"}
    builds = [
        f"build:default/acme-payments-jenkins-{b}"
        for b in ("main-12", "main-13", "main-14", "main-15", "feature-retry-1", "feature-retry-2")
    ]
    assert await _present(store, builds) == [
        "build:default/acme-payments-jenkins-main-14",
        "build:default/acme-payments-jenkins-main-15",
    ]


async def test_a_deleted_job_is_cleaned_up(store: GraphStore, jenkins: FakeJenkins) -> None:
    await _run(store, jenkins)
    jenkins.drop("/job/team-payments/job/archive/api/json", "old-deploy")

    run = await _run(store, jenkins)

    assert run.status == "SUCCEEDED", run.errors
    assert run.counts and sum(c.deleted for c in run.counts) == 1
    gone = "pipeline:default/jenkins-team-payments-archive-old-deploy"
    assert await _present(store, [gone, "pipeline:default/acme-payments-jenkins"]) == [
        "pipeline:default/acme-payments-jenkins"
    ]


async def test_a_failing_folder_deletes_nothing_of_it(
    store: GraphStore, jenkins: FakeJenkins
) -> None:
    await _seed_catalog(store)
    await _run(store, jenkins)
    jenkins.failing.add("/job/platform/api/json")
    jenkins.drop("/job/team-payments/job/archive/api/json", "old-deploy")
    waits = Waits()

    run = await _run(store, jenkins, waits)

    assert run.status == "PARTIAL"
    assert [e.file for e in run.errors] == ["jenkins/platform"]
    assert "HTTP 500" in run.errors[0].message
    assert waits.waits == [1.0, 2.0]  # retried with backoff first (maxAttempts 3, 1s)
    assert await _present(store, PLATFORM_KEYS) == sorted(PLATFORM_KEYS)
    infra = "pipeline:infra/jenkins-platform-infra-apply"
    assert ("component:infra/terraform", "builtBy", infra) in await _relations(store, infra)
    # What could be read is still cleaned up.
    gone = "pipeline:default/jenkins-team-payments-archive-old-deploy"
    assert await _present(store, [gone]) == []


async def test_an_unreadable_root_fails_the_run_and_deletes_nothing(
    store: GraphStore, jenkins: FakeJenkins
) -> None:
    await _seed_catalog(store)
    await _run(store, jenkins)
    jenkins.failing.add("/api/json")

    run = await _run(store, jenkins)

    assert run.status == "FAILED"
    assert "HTTP 500" in run.errors[0].message
    assert await _present(store, PLATFORM_KEYS) == sorted(PLATFORM_KEYS)


async def test_only_the_configured_folders_are_read(
    store: GraphStore, jenkins: FakeJenkins
) -> None:
    run = await _run(store, jenkins, folders=["platform"])

    assert run.status == "SUCCEEDED", run.errors
    assert jenkins.server.requests_to("/api/json") == []
    # No catalog to link to: the platform jobs land in the default namespace.
    platform = sorted(k.replace("infra/", "default/") for k in PLATFORM_KEYS)
    assert await _present(store, [*platform, "pipeline:default/acme-payments-jenkins"]) == platform


async def test_a_server_that_demands_a_crumb_gets_one(
    store: GraphStore, jenkins: FakeJenkins
) -> None:
    jenkins.require_crumb = True

    run = await _run(store, jenkins)

    assert run.status == "SUCCEEDED", run.errors
    assert run.stats["crumbsFetched"] == 1
    assert jenkins.crumbs_issued == 1
    last = jenkins.server.requests_to("/job/smoke-tests/api/json")[-1]
    assert last.headers["jenkins-crumb"] == CRUMB
    assert SESSION in last.headers["cookie"]
    assert await _present(store, ["pipeline:default/jenkins-smoke-tests"]) == [
        "pipeline:default/jenkins-smoke-tests"
    ]


async def test_the_registered_fetcher_uses_the_token_from_the_environment(
    store: GraphStore, jenkins: FakeJenkins, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI_JENKINS_TOKEN", TOKEN)
    config = JenkinsSource.model_validate(
        {
            "name": "ci-jenkins",
            "type": "jenkins",
            "url": jenkins.url,
            "user": USER,
            "tokenEnv": "CI_JENKINS_TOKEN",
        }
    )

    fetch = JENKINS.fetcher(config, CatalogLookup(store))
    run = await run_ingestion(store, source="ci-jenkins", source_type="jenkins", fetch=fetch)

    assert run.status == "SUCCEEDED", run.errors
    assert await _present(store, ["pipeline:default/jenkins-smoke-tests"]) == [
        "pipeline:default/jenkins-smoke-tests"
    ]


async def test_the_git_sources_jenkinsfile_pipeline_is_the_same_pipeline(
    store: GraphStore, jenkins: FakeJenkins, tmp_path: Path
) -> None:
    repo = GitRepo(tmp_path / "payments")
    repo.write(
        "catalog-info.yaml",
        component("payments").replace(
            "metadata:\n", "metadata:\n  annotations:\n    github.com/project-slug: acme/payments\n"
        ),
    )
    repo.write(
        "Jenkinsfile",
        "pipeline { agent any\n stages { stage('build') { steps { sh 'make' } } } }\n",
    )
    repo.commit()

    from_git = await ingest_git(store, str(repo.path), name="payments-git")
    run = await _run(store, jenkins)

    assert from_git.status == "SUCCEEDED", from_git.errors
    assert run.status == "SUCCEEDED", run.errors
    assert run.stats["deferredEntities"] == 1
    pipeline = "pipeline:default/acme-payments-jenkins"
    assert (await store.get_entities([pipeline]))[pipeline].source == "payments-git"
    assert {
        ("component:default/payments", "builtBy", pipeline),
        ("build:default/acme-payments-jenkins-main-14", "runOf", pipeline),
    } <= await _relations(store, pipeline)
