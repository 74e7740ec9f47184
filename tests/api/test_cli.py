"""The ``stagegraph`` command: exit codes and messages that point at the line."""

from __future__ import annotations

from pathlib import Path

from tests.api.server import cli
from tests.gitrepo import GitRepo, component, group

STORE = "sqlite:///unused.db"


def test_validate_reports_every_problem_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "catalog-info.yaml").write_text(
        component("good") + "---\n" + component("bad", owner="")
    )
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "catalog-info.yaml").write_text("kind: [unclosed\n")

    result = cli(STORE, "validate", str(tmp_path))

    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert f"{tmp_path}/a/catalog-info.yaml:10: component:default/bad: spec.owner: " in lines[0]
    assert lines[1].startswith(f"{tmp_path}/b/catalog-info.yaml:2:1: YAML error")
    assert "1 valid entities, 2 problem(s)" in result.stderr


def test_validate_accepts_the_demo_catalog() -> None:
    examples = Path(__file__).resolve().parents[2] / "examples"

    result = cli(STORE, "validate", str(examples))

    assert result.returncode == 0, result.stdout
    assert "90 valid entities, 0 problem(s)" in result.stderr


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    missing_name = cli(STORE, "ingest", "git", str(tmp_path))
    bad_store = cli("mysql://nope", "ingest", "git", str(tmp_path), "--name", "x")

    assert missing_name.returncode == 2
    assert "--name" in missing_name.stderr
    assert bad_store.returncode == 2
    assert "unsupported store URL 'mysql://nope'" in bad_store.stderr


def test_help_teaches_the_commands() -> None:
    result = cli(STORE, "ingest", "git", "--help")

    assert result.returncode == 0
    assert "catalog-info.yaml" in result.stdout
    assert "--ref" in result.stdout


def test_ingest_of_a_repository_without_descriptors_warns_and_names_path(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.write("README.md", "# no catalog here\n")
    repo.write("catalog/team.yaml", group("team-a"))
    repo.commit()

    result = cli(
        f"sqlite:///{tmp_path / 'store.db'}", "ingest", "git", str(repo.path), "--name", "r"
    )

    assert result.returncode == 0
    warning = " ".join(result.stderr.split())
    assert "no catalog-info.yaml or catalog-info.yml found among the source's 2 files" in warning
    assert "--path" in warning


def test_ingest_path_folder_without_descriptors_warns(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.write("catalog-info.yaml", component("a"))
    repo.write("catalog/team.yaml", group("team-a"))
    repo.commit()
    store = f"sqlite:///{tmp_path / 'store.db'}"

    result = cli(store, "ingest", "git", str(repo.path), "--name", "r", "--path", "catalog")

    assert result.returncode == 0
    warning = " ".join(result.stderr.split())
    assert "no catalog-info.yaml or catalog-info.yml found in the folder 'catalog'" in warning
    assert "--path FOLDER/FILE.yaml" in warning


def test_validate_of_a_folder_without_catalog_info_files_warns(tmp_path: Path) -> None:
    (tmp_path / "team.yaml").write_text(group("team-a"))

    folder = cli(STORE, "validate", str(tmp_path))
    named = cli(STORE, "validate", str(tmp_path / "team.yaml"))

    assert folder.returncode == 0
    warning = " ".join(folder.stderr.split())
    assert f"no catalog-info.yaml or catalog-info.yml found in {tmp_path}" in warning
    assert f"stagegraph validate {tmp_path}/*.yaml" in warning
    assert "0 valid entities, 0 problem(s)" in folder.stderr
    assert "found" not in named.stderr
    assert "1 valid entities, 0 problem(s)" in named.stderr
