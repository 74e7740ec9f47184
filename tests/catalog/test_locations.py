"""Where Location entities point, and what a set of files reaches through them."""

from __future__ import annotations

from catalog.locations import reached_files, target_paths


def test_targets_are_relative_to_the_file_and_never_leave_the_source() -> None:
    spec = {
        "targets": ["./teams.yaml", "../shared/x.yaml", "../../../out.yaml", "/etc/passwd"],
        "target": "https://example.com/catalog-info.yaml",
    }

    assert target_paths(spec, "org/catalog-info.yaml") == ["org/teams.yaml", "shared/x.yaml"]


def test_reach_is_transitive_follows_globs_and_ends_on_cycles() -> None:
    targets = {
        "catalog-info.yaml": ["org/teams.yaml"],
        "org/teams.yaml": ["services/*/catalog-info.yaml", "catalog-info.yaml"],
        "elsewhere.yaml": ["never.yaml"],
    }
    files = ["services/a/catalog-info.yaml", "services/b/catalog-info.yaml", "elsewhere.yaml"]

    reached = reached_files({"catalog-info.yaml", "elsewhere.yaml"}, targets, files)

    assert reached == {
        "catalog-info.yaml": "catalog-info.yaml",
        "org/teams.yaml": "catalog-info.yaml",
        "services/a/catalog-info.yaml": "catalog-info.yaml",
        "services/b/catalog-info.yaml": "catalog-info.yaml",
        "elsewhere.yaml": "elsewhere.yaml",
        "never.yaml": "elsewhere.yaml",
    }
