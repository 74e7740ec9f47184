"""Built-in actions whose inputs the end-to-end runs leave out: ``publish:github`` with
topics and team access, ``publish:gitlab`` against a loopback GitLab API (the project created
in the owner's namespace, contents pushed to a real bare repository, the default branch set,
shared with a group),
each with its ``remoteUrl``, ``repoContentsUrl`` and ``commitHash``; ``fetch:plain``,
``fetch:template`` with ``templateFileExtension``, ``replace`` and a git URL."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from scaffolder.actions.contract import Integration, Services
from scaffolder.run import TaskSpec, run_task
from tests.gitrepo import GitRepo
from tests.loopback import LoopbackServer, Reply, Request
from tests.scaffolder.helpers import FakeGithubRepos, Recorder, local_template

TOKEN = "loopback-token-7"
OUTPUTS = {
    "text": [
        {"title": name, "content": "${{ steps.publish.output." + name + " }}"}
        for name in ("remoteUrl", "repoContentsUrl", "commitHash")
    ]
}


def _publishing(action: str, extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "steps": [
            {"id": "fetch", "action": "fetch:template", "input": {"url": "./skeleton"}},
            {
                "id": "publish",
                "action": action,
                "input": {
                    "repoUrl": f"{action.split(':')[1]}.com?owner=acme&repo=svc",
                    "description": "A service",
                    "defaultBranch": "trunk",
                    "topics": ["python", "svc"],
                    **extra,
                },
            },
        ],
        "output": OUTPUTS,
    }


def _outputs(result: Any) -> dict[str, str]:
    return {item["title"]: item["content"] for item in result.output["text"]}


def _git(bare: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(bare), *args], check=True, capture_output=True, text=True
    ).stdout


def _head(bare: Path, branch: str) -> str:
    return _git(bare, "rev-parse", branch).strip()


async def test_publish_github_sets_topics_and_team_access(tmp_path: Path) -> None:
    template = local_template(
        tmp_path,
        _publishing("publish:github", {"collaborators": [{"team": "platform", "access": "push"}]}),
        {"README.md": "# svc\n"},
    )
    with LoopbackServer() as api:
        github = FakeGithubRepos(api, tmp_path / "github")
        api.route("PUT", "/orgs/acme/teams/platform/repos/acme/svc", (204, {}, None))
        services = Services(
            integrations={"github.com": Integration("github.com", "github", api.url, TOKEN)}
        )
        result = await run_task(TaskSpec("p1", template, {}), Recorder(), services)
        topics = api.requests_to("/repos/acme/svc/topics", "PUT")
        team = api.requests_to("/orgs/acme/teams/platform/repos/acme/svc", "PUT")

    assert result.status == "completed", result.error
    assert [r.json() for r in topics] == [{"names": ["python", "svc"]}]
    assert [r.json() for r in team] == [{"permission": "push"}]
    assert team[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert _outputs(result) == {
        "remoteUrl": "https://github.com/acme/svc",
        "repoContentsUrl": f"file://{github.bare('svc')}/blob/trunk",
        "commitHash": _head(github.bare("svc"), "trunk"),
    }


class FakeGitlabProjects:
    """A loopback GitLab API (v4) whose ``POST /projects`` makes a real bare repository and
    answers with its ``file://`` clone URL."""

    def __init__(self, api: LoopbackServer, root: Path) -> None:
        self.api, self.root = api, root
        api.route("GET", "/namespaces/acme", {"id": 7, "full_path": "acme"})
        api.route("POST", "/projects", self._create)
        api.route("PUT", "/projects/42", {"id": 42})
        api.route("GET", "/groups/acme%2Fplatform", {"id": 9, "full_path": "acme/platform"})
        api.route("POST", "/projects/42/share", (201, {}, {"group_id": 9}))

    def bare(self) -> Path:
        return self.root / "acme" / "svc.git"

    def _create(self, request: Request) -> Reply:
        subprocess.run(["git", "init", "--quiet", "--bare", str(self.bare())], check=True)
        return (
            201,
            {},
            {
                "id": 42,
                "path_with_namespace": "acme/svc",
                "web_url": "https://gitlab.com/acme/svc",
                "http_url_to_repo": f"file://{self.bare()}",
            },
        )


async def test_publish_gitlab_creates_the_project_and_pushes_to_it(tmp_path: Path) -> None:
    template = local_template(
        tmp_path,
        _publishing(
            "publish:gitlab",
            {
                "repoVisibility": "internal",
                "collaborators": [{"team": "acme/platform", "access": "push"}],
            },
        ),
        {"README.md": "# svc\n"},
    )
    with LoopbackServer() as api:
        gitlab = FakeGitlabProjects(api, tmp_path / "gitlab")
        services = Services(
            integrations={"gitlab.com": Integration("gitlab.com", "gitlab", api.url, TOKEN)}
        )
        result = await run_task(TaskSpec("p2", template, {}), Recorder(), services)
        (created,) = api.requests_to("/projects", "POST")
        (branch,) = api.requests_to("/projects/42", "PUT")
        shared = api.requests_to("/projects/42/share", "POST")

    assert result.status == "completed", result.error
    assert created.headers["private-token"] == TOKEN
    assert created.json() == {
        "name": "svc",
        "path": "svc",
        "namespace_id": 7,
        "description": "A service",
        "visibility": "internal",
        "topics": ["python", "svc"],
    }
    assert branch.json() == {"default_branch": "trunk"}
    assert [r.json() for r in shared] == [{"group_id": 9, "group_access": 30}]
    assert _git(gitlab.bare(), "show", "trunk:README.md") == "# svc\n"
    assert _outputs(result) == {
        "remoteUrl": "https://gitlab.com/acme/svc",
        "repoContentsUrl": f"file://{gitlab.bare()}/blob/trunk",
        "commitHash": _head(gitlab.bare(), "trunk"),
    }


async def test_publish_gitlab_without_an_integration_says_what_to_configure(
    tmp_path: Path,
) -> None:
    template = local_template(tmp_path, _publishing("publish:gitlab", {}), {"a.txt": "a"})

    result = await run_task(TaskSpec("p3", template, {}), Recorder(), Services())

    assert (result.status, result.failed_step) == ("failed", "publish")
    assert "no gitlab integration is configured for 'gitlab.com'" in (result.error or "")
    assert "integrations in stagegraph.yaml" in (result.error or "")


async def test_fetch_plain_extension_replace_and_a_git_url(tmp_path: Path) -> None:
    shared = GitRepo(tmp_path / "shared-skeleton")
    shared.write("lib/${{ values.name }}.txt", "from git: ${{ values.name }}\n")
    shared.commit("a skeleton kept in its own repository")
    fetch = "fetch:template"
    template = local_template(
        tmp_path,
        {
            "steps": [
                {"id": "plain", "action": "fetch:plain", "input": {"url": "./skeleton/plain"}},
                {
                    "id": "njk",
                    "action": fetch,
                    "input": {
                        "url": "./skeleton/njk",
                        "values": {"name": "svc"},
                        "templateFileExtension": True,
                    },
                },
                {
                    "id": "keep",
                    "action": fetch,
                    "input": {"url": "./skeleton/again", "values": {"name": "svc"}},
                },
                {
                    "id": "over",
                    "action": fetch,
                    "input": {
                        "url": "./skeleton/again",
                        "targetPath": "replaced",
                        "values": {"name": "svc"},
                    },
                },
                {
                    "id": "over2",
                    "action": fetch,
                    "input": {
                        "url": "./skeleton/again2",
                        "targetPath": "replaced",
                        "values": {"name": "svc"},
                        "replace": True,
                    },
                },
                {
                    "id": "git",
                    "action": fetch,
                    "input": {
                        "url": f"file://{shared.path}",
                        "targetPath": "from-git",
                        "values": {"name": "svc"},
                    },
                },
            ]
        },
        {
            "plain/raw.txt": "kept ${{ values.name }}\n",
            "njk/app.txt.njk": "app ${{ values.name }}\n",
            "njk/verbatim.txt": "as is ${{ values.name }}\n",
            "again/raw.txt": "second ${{ values.name }}\n",
            "again2/raw.txt": "third ${{ values.name }}\n",
        },
    )
    recorder = Recorder()

    result = await run_task(TaskSpec("f1", template, {}, dry_run=True), recorder, Services())

    assert result.status == "completed", result.error
    assert {f["path"]: f["content"] for f in result.files} == {
        "raw.txt": "kept ${{ values.name }}\n",  # fetch:plain; the next fetch kept it
        "app.txt": "app svc\n",
        "verbatim.txt": "as is ${{ values.name }}\n",
        "replaced/raw.txt": "third svc\n",
        "from-git/lib/svc.txt": "from git: svc\n",
    }
    assert "skipped raw.txt: it exists already (set replace: true to overwrite)" in recorder.lines
