"""Templates for the scaffolder tests: the Backstage example fixture, and templates written
into a test's folder, plus a reporter that records what a run tells it, and a task worker
over a store that publishes to a loopback GitHub and registers into that store."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from graph.port import GraphStore
from ingestors.git import ingest_git
from ingestors.scheduler import Scheduler
from scaffolder.actions.contract import Integration, Services
from scaffolder.register import location_registrar
from scaffolder.template import Step, Template, template_from_document
from scaffolder.worker import TaskWorker
from tests.gitrepo import GitRepo
from tests.loopback import LoopbackServer, Reply, Request

FIXTURE = (
    Path(__file__).resolve().parents[3]
    / "shared/fixtures/backstage-templates/example-nodejs-template"
)
if not FIXTURE.is_dir():  # the worktree sits beside shared/ like main does
    FIXTURE = Path("/work/shared/fixtures/backstage-templates/example-nodejs-template")
EXAMPLE_REF = "template:default/example-nodejs-template"
EXAMPLE_VALUES = {"name": "hello-world", "repoUrl": "github.com?owner=acme&repo=hello-world"}
GITHUB_TOKEN = "ghp-loopback-token-1"


def example_template(folder: Path) -> Template:
    """The Backstage example template, copied to ``folder``, located there."""
    target = folder / "example-nodejs-template"
    shutil.copytree(FIXTURE, target)
    document = yaml.safe_load((target / "template.yaml").read_text())
    document["metadata"]["annotations"] = {
        "backstage.io/managed-by-location": f"file:{target / 'template.yaml'}"
    }
    return template_from_document(EXAMPLE_REF, document)


def local_template(
    folder: Path, spec: dict[str, Any], files: dict[str, str] | None = None
) -> Template:
    """A template whose skeleton ``files`` sit in ``folder/skeleton``."""
    for name, text in (files or {}).items():
        path = folder / "skeleton" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    document = {
        "apiVersion": "scaffolder.backstage.io/v1beta3",
        "kind": "Template",
        "metadata": {
            "name": "test-template",
            "annotations": {"backstage.io/managed-by-location": f"file:{folder / 'template.yaml'}"},
        },
        "spec": {"owner": "team-a", "type": "service", **spec},
    }
    (folder / "template.yaml").write_text(yaml.safe_dump(document))
    return template_from_document("template:default/test-template", document)


@dataclass
class Recorder:
    """A :class:`scaffolder.run.Reporter` that keeps everything."""

    events: list[tuple[str, str, str | None]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    async def step_started(self, step: Step) -> None:
        self.events.append((step.id, "processing", None))

    async def step_ended(self, step: Step, status: str, error: str | None) -> None:
        self.events.append((step.id, status, error))

    async def log(self, step: Step | None, line: str) -> None:
        self.lines.append(line)


def template_repo(folder: Path) -> GitRepo:
    """A real git repository holding the Backstage example template (as a team keeps it)."""
    repo = GitRepo(folder / "templates")
    shutil.copytree(FIXTURE, repo.path / "example-nodejs-template")
    repo.commit("the example template")
    return repo


class FakeGithubRepos:
    """A loopback GitHub API that creates real bare repositories (under ``root``) and
    answers with their ``file://`` clone URL, which the publish action pushes to."""

    def __init__(self, api: LoopbackServer, root: Path, owner: str = "acme") -> None:
        self.root, self.owner = root, owner
        api.route("GET", f"/users/{owner}", {"login": owner, "type": "Organization"})
        api.route("POST", f"/orgs/{owner}/repos", self._create)
        self.api = api

    def bare(self, name: str) -> Path:
        return self.root / self.owner / f"{name}.git"

    def _create(self, request: Request) -> Reply:
        name = request.json()["name"]
        subprocess.run(["git", "init", "--quiet", "--bare", str(self.bare(name))], check=True)
        path = f"/repos/{self.owner}/{name}"
        self.api.route("PATCH", path, {"name": name})
        self.api.route("PUT", f"{path}/topics", {"names": []})
        return (
            201,
            {},
            {
                "full_name": f"{self.owner}/{name}",
                "html_url": f"https://github.com/{self.owner}/{name}",
                "clone_url": f"file://{self.bare(name)}",
            },
        )

    def show(self, name: str, *args: str) -> str:
        return subprocess.run(
            ["git", "--git-dir", str(self.bare(name)), *args],
            check=True,
            capture_output=True,
            text=True,
        ).stdout


async def load_templates(store: GraphStore, tmp_path: Path) -> None:
    """The example template into ``store`` the way a team's catalog gets it: a git source."""
    repo = template_repo(tmp_path)
    run = await ingest_git(
        store, str(repo.path), name="templates", paths=["example-nodejs-template/template.yaml"]
    )
    assert run.status == "SUCCEEDED", run.errors


def task_worker(
    store: GraphStore,
    tmp_path: Path,
    api_url: str = "http://127.0.0.1:9",
    scheduler: Scheduler | None = None,
    **extra: Any,
) -> TaskWorker:
    """A worker whose github.com integration is the loopback API at ``api_url`` and whose
    ``catalog:register`` registers locations in ``store``."""
    services = Services(
        integrations={"github.com": Integration("github.com", "github", api_url, GITHUB_TOKEN)},
        register=location_registrar(store, scheduler),
    )
    return TaskWorker(store, services, "worker-1", work_dir=tmp_path, **extra)


async def template_in_store(
    store: GraphStore, folder: Path, spec: dict[str, Any], files: dict[str, str]
) -> None:
    """``template:default/test-template`` and its skeleton (``files``) in a git repository
    under ``folder``, read into ``store`` by the git source, as a team keeps a template."""
    repo = GitRepo(folder / "templates")
    document = {
        "apiVersion": "scaffolder.backstage.io/v1beta3",
        "kind": "Template",
        "metadata": {"name": "test-template"},
        "spec": {"owner": "team-a", "type": "service", **spec},
    }
    repo.write("template.yaml", yaml.safe_dump(document))
    for name, text in files.items():
        repo.write(f"skeleton/{name}", text)
    repo.commit("the template")
    run = await ingest_git(store, str(repo.path), name="templates", paths=["template.yaml"])
    assert run.status == "SUCCEEDED", run.errors
