"""CI files in Git become Pipelines: the pure reading of each file type, and the git source
end to end on both stores (real repositories, the runner, the store)."""

from __future__ import annotations

from pathlib import Path

from catalog.errors import SourceLocation
from catalog.validation import validate_entity
from graph.port import Direction, GraphStore, RunRecord
from ingestors.git import ingest_git
from ingestors.git.ci_files import read_gitlab_ci, read_jenkinsfile, read_workflow
from ingestors.git.transform import Origin, transform_tree
from ingestors.git.tree import MemoryTree
from ingestors.runner import SOURCE_PATH_ANNOTATION, run_ingestion
from ingestors.snapshot import Descriptor, Snapshot
from tests.gitrepo import GitRepo, component, group

WORKFLOW = """\
name: CI
on:
  push:
    branches: [main]
  pull_request:
jobs:
  build:
    runs-on: ubuntu-latest
    steps: [{run: make}]
  test:
    runs-on: ubuntu-latest
    steps: [{run: make test}]
"""
RELEASE = """\
on: [push, workflow_dispatch]
jobs:
  publish: {runs-on: ubuntu-latest, steps: [{run: make release}]}
"""
GITLAB = """\
stages: [build, test, deploy]
variables: {GO_VERSION: "1.22"}
.template: {image: golang}
compile: {stage: build, script: [make]}
unit: {stage: test, script: [make test]}
ship: {stage: deploy, script: [make deploy]}
"""
JENKINSFILE = """\
pipeline {
  agent any
  stages {
    stage('Build') { steps { sh 'make' } }
    stage("Integration tests") { steps { sh 'make it' } }
  }
}
"""
BROKEN = """\
name: CI
on: [push
jobs: {}
"""


# --- reading each CI file type (pure) ------------------------------------------------------


def test_workflow_gives_title_triggers_and_jobs() -> None:
    read = read_workflow(WORKFLOW, ".github/workflows/ci.yml")

    assert read.title == "CI"
    assert read.description == (
        "GitHub Actions workflow. Triggers: push, pull_request. Jobs: build, test."
    )


def test_workflow_triggers_as_a_list_or_a_word() -> None:
    assert "Triggers: push, workflow_dispatch." in read_workflow(RELEASE, "r.yml").description
    assert "Triggers: push." in read_workflow("on: push\njobs: {}\n", "r.yml").description


def test_gitlab_ci_lists_declared_stages_and_jobs_not_keywords_or_templates() -> None:
    read = read_gitlab_ci(GITLAB, ".gitlab-ci.yml")

    assert read.title is None
    assert read.description == (
        "GitLab CI pipeline. Stages: build, test, deploy. Jobs: compile, unit, ship."
    )


def test_gitlab_ci_without_stages_lists_the_stages_its_jobs_use() -> None:
    text = "workflow: {name: Main}\nlint: {script: [x]}\npack: {stage: build, script: [y]}\n"

    read = read_gitlab_ci(text, ".gitlab-ci.yml")

    assert read.title == "Main"
    assert "Stages: test, build." in read.description


def test_jenkinsfile_lists_its_stages() -> None:
    assert read_jenkinsfile(JENKINSFILE).description == (
        "Jenkins pipeline. Stages: Build, Integration tests."
    )


def _pipelines(snapshot: Snapshot) -> dict[str, Descriptor]:
    return {str(d.entity.ref): d for d in snapshot.descriptors if d.entity.kind == "Pipeline"}


def test_pipelines_take_namespace_owner_and_slug_from_the_components() -> None:
    annotations = "  annotations: {github.com/project-slug: acme/payments-api}\n"
    payments = (
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\n"
        "  namespace: payments\n{annotations}spec:\n  type: service\n  lifecycle: production\n"
        "  owner: team-pay\n"
    )
    tree = MemoryTree(
        {
            "a/catalog-info.yaml": payments.format(name="api", annotations=annotations),
            "b/catalog-info.yaml": payments.format(name="worker", annotations=""),
            ".github/workflows/ci.yml": WORKFLOW,
            ".github/workflows/nested/skip.yml": WORKFLOW,
            "docs/.gitlab-ci.yml": GITLAB,
        }
    )

    snapshot = transform_tree(tree, Origin("/srv/monorepo", "abc123"))

    assert list(_pipelines(snapshot)) == ["pipeline:payments/acme-payments-api-ci"]
    pipeline = _pipelines(snapshot)["pipeline:payments/acme-payments-api-ci"]
    assert pipeline.defer is True
    assert pipeline.entity.metadata.title == "CI"
    assert pipeline.entity.metadata.annotations[SOURCE_PATH_ANNOTATION] == (
        ".github/workflows/ci.yml"
    )
    assert pipeline.entity.spec == {
        "type": "github-actions",
        "components": ["component:payments/api", "component:payments/worker"],
        "repository": "acme/payments-api",
        "path": ".github/workflows/ci.yml",
        "owner": "group:payments/team-pay",
    }
    assert snapshot.errors == []


def test_pipelines_of_mixed_components_go_to_default_without_owner() -> None:
    tree = MemoryTree(
        {
            "catalog-info.yaml": component("a", "team-a")
            + "---\n"
            + component("b", "team-b").replace("metadata:\n", "metadata:\n  namespace: other\n"),
            "Jenkinsfile": JENKINSFILE,
        }
    )

    snapshot = transform_tree(tree, Origin("https://git.example.com/acme/shop.git", "abc"))

    pipeline = _pipelines(snapshot)["pipeline:default/acme-shop-jenkins"].entity
    assert pipeline.spec["components"] == ["component:default/a", "component:other/b"]
    assert pipeline.spec["repository"] == "acme/shop"
    assert "owner" not in pipeline.spec


def test_ci_files_without_components_are_skipped_with_why() -> None:
    tree = MemoryTree({"catalog-info.yaml": group("team-a"), "Jenkinsfile": JENKINSFILE})

    snapshot = transform_tree(tree, Origin("/srv/org", None))

    assert _pipelines(snapshot) == {}
    assert snapshot.skipped == ["Jenkinsfile: no Component in this source to link the pipeline to"]
    assert snapshot.errors == []


def test_ci_files_are_kept_when_the_descriptors_could_not_be_read() -> None:
    tree = MemoryTree({"catalog-info.yaml": "kind: [\n", "Jenkinsfile": JENKINSFILE})

    snapshot = transform_tree(tree, Origin("/srv/shop", None))

    assert _pipelines(snapshot) == {}
    assert "Jenkinsfile" in snapshot.keep_files


# --- end to end on both stores -------------------------------------------------------------


def _repo(tmp_path: Path) -> GitRepo:
    repo = GitRepo(tmp_path / "payments")
    repo.write("org/catalog-info.yaml", group("team-a"))
    repo.write("services/api/catalog-info.yaml", component("api"))
    repo.write("services/worker/catalog-info.yaml", component("worker"))
    repo.write(".github/workflows/ci.yml", WORKFLOW)
    repo.write(".github/workflows/release.yaml", RELEASE)
    repo.write(".gitlab-ci.yml", GITLAB)
    repo.write("Jenkinsfile", JENKINSFILE)
    repo.commit()
    return repo


PIPELINES = {
    "pipeline:default/payments-ci",
    "pipeline:default/payments-release",
    "pipeline:default/payments-gitlab-ci",
    "pipeline:default/payments-jenkins",
}


async def _pipeline_refs(store: GraphStore) -> set[str]:
    found = await store.get_entities(sorted(PIPELINES))
    return {e.ref for e in found.values()}


async def _built_by(store: GraphStore) -> set[tuple[str, str]]:
    rows = await store.get_relations(
        ["component:default/api", "component:default/worker"], Direction.OUT
    )
    return {(r.source_ref, r.target_ref) for r in rows if r.type == "builtBy"}


def _added(run: RunRecord, kind: str) -> int:
    return sum(c.added for c in run.counts if c.kind == kind)


async def test_ci_files_become_pipelines_built_by_the_components(
    store: GraphStore, tmp_path: Path
) -> None:
    repo = _repo(tmp_path)

    run = await ingest_git(store, str(repo.path), name="payments")

    assert (run.status, run.errors) == ("SUCCEEDED", [])
    assert _added(run, "pipeline") == 4
    assert await _pipeline_refs(store) == PIPELINES
    assert await _built_by(store) == {
        (component_ref, pipeline)
        for component_ref in ("component:default/api", "component:default/worker")
        for pipeline in PIPELINES
    }
    ci = (await store.get_entities(["pipeline:default/payments-ci"]))[
        "pipeline:default/payments-ci"
    ]
    assert ci.source == "payments"
    assert ci.document["metadata"]["title"] == "CI"
    assert ci.document["metadata"]["description"] == (
        "GitHub Actions workflow. Triggers: push, pull_request. Jobs: build, test."
    )
    assert ci.document["spec"]["owner"] == "group:default/team-a"
    owned = await store.get_relations(["pipeline:default/payments-ci"], Direction.OUT)
    assert {(r.type, r.target_ref) for r in owned} == {("ownedBy", "group:default/team-a")}


async def test_removed_workflow_is_cleaned_up(store: GraphStore, tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    await ingest_git(store, str(repo.path), name="payments")
    repo.remove(".github/workflows/release.yaml")
    repo.commit("drop the release workflow")

    run = await ingest_git(store, str(repo.path), name="payments")

    assert (run.status, run.errors) == ("SUCCEEDED", [])
    assert {(c.kind, c.deleted) for c in run.counts if c.deleted} == {("pipeline", 1)}
    assert await _pipeline_refs(store) == PIPELINES - {"pipeline:default/payments-release"}
    assert ("component:default/api", "pipeline:default/payments-release") not in await _built_by(
        store
    )


async def test_broken_workflow_keeps_its_pipeline_and_reports_file_and_line(
    store: GraphStore, tmp_path: Path
) -> None:
    repo = _repo(tmp_path)
    await ingest_git(store, str(repo.path), name="payments")
    repo.write(".github/workflows/ci.yml", BROKEN)
    repo.commit("break the workflow")

    run = await ingest_git(store, str(repo.path), name="payments")

    assert run.status == "PARTIAL"
    assert len(run.errors) == 1
    error = run.errors[0]
    assert error.file is not None and error.file.startswith(".github/workflows/ci.yml:3:")
    assert "YAML error" in error.message and "keeps its last version" in error.message
    assert await _pipeline_refs(store) == PIPELINES
    assert ("component:default/api", "pipeline:default/payments-ci") in await _built_by(store)


def _api_pipeline(defer: bool) -> Descriptor:
    raw = {
        "apiVersion": "stagegraph.dev/v1alpha1",
        "kind": "Pipeline",
        "metadata": {"name": "payments-ci", "title": "CI (from the API)"},
        "spec": {
            "type": "github-actions",
            "repository": "acme/payments",
            "path": ".github/workflows/ci.yml",
            "url": "https://github.com/acme/payments/actions/workflows/ci.yml",
        },
    }
    return Descriptor(validate_entity(raw), SourceLocation("acme/payments"), defer=defer)


async def _ingest_api(store: GraphStore, defer: bool) -> RunRecord:
    async def fetch() -> Snapshot:
        return Snapshot(source_type="github", descriptors=[_api_pipeline(defer)])

    return await run_ingestion(store, source="github", source_type="github", fetch=fetch)


async def test_deferred_pipeline_from_a_second_source_does_not_conflict(
    store: GraphStore, tmp_path: Path
) -> None:
    repo = _repo(tmp_path)
    await ingest_git(store, str(repo.path), name="payments")

    run = await _ingest_api(store, defer=True)

    assert (run.status, run.errors) == ("SUCCEEDED", [])
    assert run.stats["deferredEntities"] == 1
    ci = (await store.get_entities(["pipeline:default/payments-ci"]))[
        "pipeline:default/payments-ci"
    ]
    assert (ci.source, ci.document["metadata"]["title"]) == ("payments", "CI")


async def test_git_defers_to_a_ci_api_source_holding_the_pipeline(
    store: GraphStore, tmp_path: Path
) -> None:
    assert (await _ingest_api(store, defer=False)).status == "SUCCEEDED"
    repo = _repo(tmp_path)

    run = await ingest_git(store, str(repo.path), name="payments")

    assert (run.status, run.errors) == ("SUCCEEDED", [])
    assert run.stats["deferredEntities"] == 1
    ci = (await store.get_entities(["pipeline:default/payments-ci"]))[
        "pipeline:default/payments-ci"
    ]
    assert (ci.source, ci.document["metadata"]["title"]) == ("github", "CI (from the API)")
    # The git source still links its components to the pipeline the API describes.
    assert ("component:default/worker", "pipeline:default/payments-ci") in await _built_by(store)
