"""A template run without a store (what is stored is proved on both stores in
``test_stored_runs.py`` and ``test_tasks.py``): the example template's dry run, parameters
and unknown actions refused before anything runs, paths and skeletons that would leave the
workspace or are too large, and ``each``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from scaffolder.actions.contract import Services
from scaffolder.errors import WorkspaceError
from scaffolder.run import TaskSpec, run_task
from scaffolder.workspace import Workspace
from tests.scaffolder.helpers import Recorder, example_template, local_template


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
