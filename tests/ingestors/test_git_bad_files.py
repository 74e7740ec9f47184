"""Bad files never abort a git ingest nor delete what they held: undecodable bytes, files
that are not regular, too big or outside the source, and Location files that break."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from graph.port import GraphStore
from ingestors.git import ingest_git
from ingestors.git.files import MAX_FILE_BYTES
from ingestors.git.get import read_git_source
from tests.gitrepo import API_WITH_TEXT, GitRepo, component, group


def _location(name: str, *targets: str) -> str:
    return (
        "apiVersion: backstage.io/v1alpha1\nkind: Location\n"
        f"metadata:\n  name: {name}\nspec:\n  targets: [{', '.join(targets)}]\n"
    )


def _user(name: str) -> str:
    return (
        "apiVersion: backstage.io/v1alpha1\nkind: User\n"
        f"metadata:\n  name: {name}\nspec:\n  memberOf: [team-a]\n"
    )


async def _refs(store: GraphStore, *refs: str) -> set[str]:
    return {e.ref for e in (await store.get_entities(list(refs))).values()}


def _errors(run_errors: list[tuple[str | None, str]]) -> dict[str, str]:
    return {file or "": message for file, message in run_errors}


# --- item 1: undecodable files ----------------------------------------------------------------


async def test_undecodable_files_are_one_error_each_and_the_rest_is_stored(
    store: GraphStore, tmp_path: Path
) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.write("catalog-info.yaml", component("good"))
    (repo.path / "latin1").mkdir()
    (repo.path / "latin1" / "catalog-info.yaml").write_bytes(
        component("cafe").encode() + b"  description: caf\xe9\n"
    )
    (repo.path / "nul").mkdir()
    (repo.path / "nul" / "catalog-info.yaml").write_bytes(b"\x00" + component("nul").encode())
    repo.write("api/catalog-info.yaml", API_WITH_TEXT.format(target="./logo.png"))
    (repo.path / "api" / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff")
    repo.commit()

    run = await ingest_git(store, str(repo.path), name="repo")

    assert run.status == "PARTIAL"
    errors = _errors([(e.file, e.message) for e in run.errors])
    assert sorted(errors) == [
        "api/catalog-info.yaml:1",
        "latin1/catalog-info.yaml:9",
        "nul/catalog-info.yaml:1:1",
    ]
    assert "not UTF-8 text: byte 0xe9 at line 9" in errors["latin1/catalog-info.yaml:9"]
    assert "U+0000 is not allowed" in errors["nul/catalog-info.yaml:1:1"]
    assert "$text ./logo.png could not be read (not UTF-8 text" in errors["api/catalog-info.yaml:1"]
    assert await _refs(store, "component:default/good", "api:default/orders") == {
        "component:default/good",
        "api:default/orders",
    }


# --- item 3: files that are not regular, too big, or outside -----------------------------------


def _plain_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "plain"
    (folder / "good").mkdir(parents=True)
    (folder / "good" / "catalog-info.yaml").write_text(component("good"))
    return folder


def test_fifo_and_socket_named_catalog_info_are_refused_without_blocking(tmp_path: Path) -> None:
    folder = _plain_folder(tmp_path)
    (folder / "fifo").mkdir()
    os.mkfifo(folder / "fifo" / "catalog-info.yaml")
    (folder / "sock").mkdir()
    # AF_UNIX paths are limited to ~100 bytes: bind from inside the folder.
    cwd = Path.cwd()
    os.chdir(folder / "sock")
    listener = socket.socket(socket.AF_UNIX)
    try:
        listener.bind("catalog-info.yaml")
    finally:
        os.chdir(cwd)

    try:
        snapshot = read_git_source(str(folder))
    finally:
        listener.close()

    assert {str(d.entity.ref) for d in snapshot.descriptors} == {"component:default/good"}
    errors = _errors([(e.file, e.message) for e in snapshot.errors])
    assert "a FIFO (named pipe), not a regular file" in errors["fifo/catalog-info.yaml"]
    assert "a socket, not a regular file" in errors["sock/catalog-info.yaml"]


def test_file_over_the_size_cap_is_refused_before_reading(tmp_path: Path) -> None:
    folder = _plain_folder(tmp_path)
    (folder / "big").mkdir()
    with (folder / "big" / "catalog-info.yaml").open("wb") as sparse:
        sparse.truncate(100 * 1024 * 1024)  # no byte written: refusing it must not read it

    snapshot = read_git_source(str(folder))

    (error,) = snapshot.errors
    assert error.file == "big/catalog-info.yaml"
    assert f"over the {MAX_FILE_BYTES}-byte limit" in error.message
    assert "big/catalog-info.yaml" in snapshot.keep_files


@pytest.mark.parametrize("committed", [False, True], ids=["plain-folder", "git-repo"])
def test_symlinks_out_of_the_source_are_never_read(tmp_path: Path, committed: bool) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT\n")
    repo = GitRepo(tmp_path / "repo") if committed else None
    root = tmp_path / "repo"
    root.mkdir(exist_ok=True)
    (root / "catalog-info.yaml").write_text(API_WITH_TEXT.format(target="./link.txt"))
    (root / "link.txt").symlink_to(secret)
    (root / "escape").mkdir()
    (root / "escape" / "catalog-info.yaml").symlink_to(secret)
    (root / "inner").mkdir()
    (root / "inner" / "real.yaml").write_text(component("inner"))
    (root / "inner" / "catalog-info.yaml").symlink_to("real.yaml")
    if repo is not None:
        repo.commit()

    snapshot = read_git_source(str(root))

    assert {str(d.entity.ref) for d in snapshot.descriptors} == {
        "api:default/orders",
        "component:default/inner",
    }
    errors = _errors([(e.file, e.message) for e in snapshot.errors])
    assert sorted(errors) == ["catalog-info.yaml:1", "escape/catalog-info.yaml"]
    assert all("symbolic link to a file outside the source" in m for m in errors.values())
    assert "TOP-SECRET" not in repr(snapshot)


# --- item 2: a Location file that breaks keeps what it reached -------------------------------


def _reaching_catalog(repo: GitRepo) -> None:
    repo.write("catalog-info.yaml", _location("root", "./org/teams.yaml"))
    repo.write("org/teams.yaml", group("team-a") + "---\n" + _location("people", "./people.yaml"))
    repo.write("org/people.yaml", _user("jane"))
    for name in "abcd":
        repo.write(f"services/{name}/catalog-info.yaml", component(name))


REACHED = ("group:default/team-a", "location:default/people", "user:default/jane")


async def test_location_with_a_yaml_error_keeps_what_it_reached(
    store: GraphStore, tmp_path: Path
) -> None:
    repo = GitRepo(tmp_path / "repo")
    _reaching_catalog(repo)
    repo.commit()
    await ingest_git(store, str(repo.path), name="repo")
    garbled = "{{{{" + (repo.path / "catalog-info.yaml").read_text()
    (repo.path / "catalog-info.yaml").write_text(garbled)
    repo.commit()

    run = await ingest_git(store, str(repo.path), name="repo")

    assert run.status == "PARTIAL"
    assert run.cleanup == "done: 0 stale entities deleted"
    assert [e.file for e in run.errors] == ["catalog-info.yaml:2:5"]
    kept = await store.get_entities(["location:default/root", *REACHED])
    assert set(kept) == {"location:default/root", *REACHED}
    for entity in kept.values():
        assert entity.error is not None
        assert entity.error.startswith("not refreshed, last version kept: catalog-info.yaml:2:5")
    assert (await store.get_entities(["component:default/a"]))["component:default/a"].error is None


async def test_location_read_again_decides_what_it_reaches(
    store: GraphStore, tmp_path: Path
) -> None:
    """A Location read in this run is not followed from its stored version: the files it no
    longer targets go, even while another Location file fails."""
    repo = GitRepo(tmp_path / "repo")
    _reaching_catalog(repo)
    repo.write("more/catalog-info.yaml", _location("more", "./extra.yaml"))
    repo.write("more/extra.yaml", component("extra"))
    repo.commit()
    await ingest_git(store, str(repo.path), name="repo")
    repo.write("catalog-info.yaml", "{{{{\n")  # fails: what it reached is kept
    repo.write("more/catalog-info.yaml", _location("more"))  # read: extra.yaml no longer wanted
    repo.commit()

    run = await ingest_git(store, str(repo.path), name="repo")

    assert run.cleanup == "done: 1 stale entities deleted"
    assert await _refs(store, "component:default/extra", *REACHED) == set(REACHED)
