"""A template run end to end without a store: the example template's dry run, a run that
publishes to a real bare repository and fails at a later step, parameters and unknown
actions refused before anything runs, and the security cases."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from scaffolder.actions.contract import Services
from scaffolder.errors import WorkspaceError
from scaffolder.run import TaskSpec, run_task
from scaffolder.workspace import Workspace
from tests.scaffolder.helpers import Recorder, example_template, local_template


class Registrations:
    """A registrar that records what it was asked to register (the catalog is not here)."""

    def __init__(self) -> None:
        self.targets: list[str] = []

    async def __call__(self, target: str, template_ref: str) -> list[str]:
        self.targets.append(target)
        return ["component:default/x"]


async def test_the_example_template_dry_run_renders_exactly_three_files(tmp_path: Path) -> None:
    template = example_template(tmp_path)
    values = {"name": "hello-world", "repoUrl": "github.com?owner=acme&repo=hello-world"}

    result = await run_task(TaskSpec("t1", template, values, dry_run=True), Recorder(), Services())

    assert result.status == "completed", result.error
    files = {f["path"]: f["content"] for f in result.files}
    assert sorted(files) == ["catalog-info.yaml", "index.js", "package.json"]
    assert files["index.js"] == "console.log('Hello from hello-world!');\n"
    assert json.loads(files["package.json"]) == {
        "name": "hello-world",
        "private": True,
        "dependencies": {},
    }
    component = yaml.safe_load(files["catalog-info.yaml"])
    assert component["metadata"]["name"] == "hello-world"
    assert component["spec"] == {
        "type": "service",
        "owner": "user:guest",
        "lifecycle": "experimental",
    }
    assert result.step_inputs["publish"]["description"] == "This is hello-world"
    assert (
        result.step_inputs["register"]["repoContentsUrl"]
        == "https://github.com/acme/hello-world/blob/main"
    )
    assert result.output["links"][0]["url"] == "https://github.com/acme/hello-world"
    assert result.notifications == []  # a dry run notifies nobody


def _bare(path: Path) -> Path:
    subprocess.run(["git", "init", "--quiet", "--bare", str(path)], check=True)
    return path


def _show(bare: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(bare), *args], check=True, capture_output=True, text=True
    ).stdout


async def test_publish_git_if_rename_verbatim_then_a_failing_step(tmp_path: Path) -> None:
    bare = _bare(tmp_path / "remote.git")
    template = local_template(
        tmp_path,
        {
            "parameters": {
                "required": ["name"],
                "properties": {
                    "name": {"type": "string"},
                    "docs": {"type": "boolean", "default": False},
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
                    "input": {"repoUrl": f"file://{bare}", "defaultBranch": "trunk"},
                },
                {
                    "id": "broken",
                    "action": "fs:rename",
                    "input": {"files": [{"from": "missing.txt", "to": "x.txt"}]},
                },
                {
                    "id": "register",
                    "action": "catalog:register",
                    "input": {"repoContentsUrl": "${{ steps.publish.output.repoContentsUrl }}"},
                },
            ],
        },
        {
            "app.txt": "app ${{ values.name }}\n",
            "README.md": "# ${{ values.name }}\n",
            "static/raw.txt": "kept ${{ values.name }}\n",
        },
    )
    recorder, registrations = Recorder(), Registrations()

    result = await run_task(
        TaskSpec("t2", template, {"name": "svc"}), recorder, Services(register=registrations)
    )

    assert (result.status, result.failed_step) == ("failed", "broken")
    assert "'missing.txt' does not exist" in (result.error or "")
    assert ("docs", "skipped", None) in recorder.events
    assert ("publish", "completed", None) in recorder.events
    assert recorder.events[-1][:2] == ("broken", "failed")
    assert "register" not in {step for step, _, _ in recorder.events}
    assert registrations.targets == []
    assert sorted(_show(bare, "ls-tree", "-r", "--name-only", "trunk").split()) == [
        "README.md",
        "static/raw.txt",
        "svc.txt",
    ]
    assert _show(bare, "show", "trunk:svc.txt") == "app svc\n"
    assert _show(bare, "show", "trunk:static/raw.txt") == "kept ${{ values.name }}\n"
    assert _show(bare, "show", "trunk:README.md") == "# svc\n"


async def test_invalid_values_are_refused_with_every_problem_before_any_step(
    tmp_path: Path,
) -> None:
    template = example_template(tmp_path)
    recorder = Recorder()

    result = await run_task(TaskSpec("t3", template, {"name": 7}), recorder, Services())

    assert result.status == "failed"
    assert "name: 7 is not of type 'string'" in (result.error or "")
    assert "repoUrl: 'repoUrl' is a required property" in (result.error or "")
    assert recorder.events == []


async def test_an_unknown_action_is_refused_before_the_first_step(tmp_path: Path) -> None:
    template = local_template(
        tmp_path,
        {
            "steps": [
                {"id": "hello", "action": "debug:log", "input": {"message": "hi"}},
                {"id": "odd", "action": "acme:deploy"},
            ]
        },
    )
    recorder = Recorder()

    result = await run_task(TaskSpec("t4", template, {}), recorder, Services())

    assert result.status == "failed"
    assert "step 'odd' uses the unknown action 'acme:deploy'" in (result.error or "")
    assert recorder.events == []


def _fetch(target_path: str = ".") -> dict[str, object]:
    return {
        "id": "fetch",
        "action": "fetch:template",
        "input": {
            "url": "./skeleton",
            "targetPath": target_path,
            "values": {"name": "${{ parameters.name }}"},
        },
    }


@pytest.mark.parametrize(
    ("target", "name", "said"),
    [
        ("../outside", "ok", "leaves the workspace"),
        ("/tmp/outside", "ok", "is absolute"),
        (".", "../../escaped", "leaves the workspace"),
    ],
)
async def test_paths_leaving_the_workspace_are_refused(
    tmp_path: Path, target: str, name: str, said: str
) -> None:
    template = local_template(
        tmp_path, {"steps": [_fetch(target)]}, {"${{ values.name }}.txt": "x"}
    )

    result = await run_task(TaskSpec("t5", template, {"name": name}), Recorder(), Services())

    assert result.status == "failed"
    assert said in (result.error or "")
    assert not os.path.exists(tmp_path / "escaped.txt")
    assert not os.path.exists("/tmp/outside")


async def test_a_skeleton_with_a_symbolic_link_is_refused(tmp_path: Path) -> None:
    template = local_template(tmp_path, {"steps": [_fetch()]}, {"a.txt": "x"})
    os.symlink("/etc/passwd", tmp_path / "skeleton" / "passwd")

    result = await run_task(TaskSpec("t6", template, {}), Recorder(), Services())

    assert result.status == "failed"
    assert "symbolic link 'passwd'" in (result.error or "")


def test_a_path_through_a_link_in_the_workspace_is_refused(tmp_path: Path) -> None:
    (tmp_path / "ws").mkdir()
    os.symlink("/etc", tmp_path / "ws" / "etc")

    with pytest.raises(WorkspaceError, match="symbolic link 'etc'"):
        Workspace(tmp_path / "ws").path("etc/passwd")


async def test_a_100_mb_skeleton_is_refused(tmp_path: Path) -> None:
    template = local_template(tmp_path, {"steps": [_fetch()]}, {"a.txt": "x"})
    with (tmp_path / "skeleton" / "big.bin").open("wb") as big:
        big.truncate(100 * 1024 * 1024)  # sparse: nothing is written, the size is what counts

    result = await run_task(TaskSpec("t7", template, {}), Recorder(), Services())

    assert result.status == "failed"
    assert "larger than 50 MB" in (result.error or "")


async def test_secret_values_are_redacted_from_logs_outputs_and_errors(tmp_path: Path) -> None:
    secret = "s3cr3t-token-value"
    template = local_template(
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
    )
    recorder = Recorder()

    result = await run_task(
        TaskSpec("t8", template, {}, secrets={"token": secret}, dry_run=False), recorder, Services()
    )

    assert result.status == "failed"
    assert "token is ***" in recorder.lines
    everything = json.dumps([recorder.lines, recorder.events, result.error, result.output])
    assert secret not in everything
    assert "***" in (result.error or "")


async def test_each_loops_a_step_over_a_list_and_an_object(tmp_path: Path) -> None:
    template = local_template(
        tmp_path,
        {
            "parameters": {"properties": {"things": {"type": "array"}}},
            "steps": [
                {
                    "id": "files",
                    "each": "${{ parameters.things }}",
                    "if": "${{ each.value != 'skip-me' }}",
                    "action": "catalog:write",
                    "input": {
                        "filePath": "${{ each.value }}-${{ each.key }}.yaml",
                        "entity": {"kind": "Component", "metadata": {"name": "${{ each.value }}"}},
                    },
                },
                {
                    "id": "owners",
                    "each": {"team-a": "alice", "team-b": "bob"},
                    "action": "debug:log",
                    "input": {"message": "${{ each.key }} -> ${{ each.value }}"},
                },
                {
                    "id": "push",
                    "each": ["file:///srv/a.git", "file:///srv/b.git"],
                    "action": "publish:git",
                    "input": {"repoUrl": "${{ each.value }}"},
                },
                {
                    "id": "after",
                    "action": "debug:log",
                    "input": {"message": "task ${{ context.task.id }}"},
                },
            ],
            "output": {
                "text": [
                    {"title": "pushed", "content": "${{ steps.push.output.remoteUrl | join(' ') }}"}
                ]
            },
        },
    )
    recorder = Recorder()

    result = await run_task(
        TaskSpec("t9", template, {"things": ["cart", "skip-me", "shop"]}, dry_run=True),
        recorder,
        Services(),
    )

    assert result.status == "completed", result.error
    assert [f["path"] for f in result.files] == ["cart-0.yaml", "shop-2.yaml"]
    assert [i and i["filePath"] for i in result.step_inputs["files"]] == [
        "cart-0.yaml",
        None,
        "shop-2.yaml",
    ]
    assert "team-a -> alice" in recorder.lines and "team-b -> bob" in recorder.lines
    assert 'skipping step each: {"key": "1", "value": "skip-me"}' in recorder.lines
    assert "task t9" in recorder.lines
    assert result.output["text"][0]["content"] == "file:///srv/a.git file:///srv/b.git"
    assert [e[:2] for e in recorder.events].count(("files", "completed")) == 1


async def test_each_that_renders_to_nothing_fails_the_step(tmp_path: Path) -> None:
    template = local_template(
        tmp_path,
        {
            "steps": [
                {
                    "id": "loop",
                    "each": "${{ parameters.missing }}",
                    "action": "debug:log",
                    "input": {"message": "x"},
                }
            ]
        },
    )

    result = await run_task(TaskSpec("t10", template, {}), Recorder(), Services())

    assert (result.status, result.failed_step) == ("failed", "loop")
    assert "renders to nothing" in (result.error or "")
