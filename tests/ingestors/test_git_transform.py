"""The git source's pure transform, on in-memory trees: discovery, Location targets,
CODEOWNERS, placeholders, annotations, and how each kind of problem is reported."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from graph.port import RunError
from ingestors.git.targets import web_repo
from ingestors.git.transform import Origin, transform_tree
from ingestors.git.tree import MemoryTree
from ingestors.runner import SOURCE_PATH_ANNOTATION
from ingestors.snapshot import Snapshot
from tests.gitrepo import API_WITH_TEXT

ORIGIN = Origin("/srv/shop", None)
GIT_ORIGIN = Origin("https://git.example.com/acme/shop.git", "0123abcd")


class RecordingTree(MemoryTree):
    """A MemoryTree that remembers which paths were read."""

    def __init__(self, files: dict[str, str]) -> None:
        super().__init__(files)
        self.reads: list[str] = []

    def read(self, path: str) -> str:
        self.reads.append(path)
        return super().read(path)


def component(name: str, owner: str | None = "team-a", *, namespace: str | None = None) -> str:
    lines = [
        "apiVersion: backstage.io/v1alpha1",
        "kind: Component",
        "metadata:",
        f"  name: {name}",
    ]
    if namespace:
        lines.append(f"  namespace: {namespace}")
    lines += ["spec:", "  type: service", "  lifecycle: production"]
    if owner:
        lines.append(f"  owner: {owner}")
    return "\n".join(lines) + "\n"


def location(name: str, *targets: str, presence: str | None = None) -> str:
    lines = [
        "apiVersion: backstage.io/v1alpha1",
        "kind: Location",
        "metadata:",
        f"  name: {name}",
        "spec:",
        "  targets:",
        *(f"    - {target}" for target in targets),
    ]
    if presence:
        lines.append(f"  presence: {presence}")
    return "\n".join(lines) + "\n"


def transform(
    files: dict[str, str], entry_paths: Sequence[str] = (), origin: Origin = ORIGIN
) -> Snapshot:
    return transform_tree(MemoryTree(files), origin, entry_paths)


def refs(snapshot: Snapshot) -> set[str]:
    return {str(found.entity.ref) for found in snapshot.descriptors}


def owner_of(snapshot: Snapshot, ref: str) -> object:
    found = {str(d.entity.ref): d.entity for d in snapshot.descriptors}
    return found[ref].spec.get("owner")


# --- discovery ------------------------------------------------------------------------------


def test_catalog_info_files_are_found_at_any_depth() -> None:
    files = {
        "catalog-info.yaml": component("root"),
        "services/payments/catalog-info.yaml": component("payments"),
        "a/b/c/d/catalog-info.yml": component("deep-yml"),
    }

    snapshot = transform(files)

    assert refs(snapshot) == {
        "component:default/root",
        "component:default/payments",
        "component:default/deep-yml",
    }
    assert snapshot.files_read == 3
    assert snapshot.errors == []


def test_other_yaml_files_are_not_read() -> None:
    tree = RecordingTree(
        {
            "catalog-info.yaml": component("root"),
            "docs/component.yaml": component("not-a-descriptor"),
            "catalog-info.yaml.bak": component("backup"),
            "mkdocs.yml": "site_name: [broken",
        }
    )

    snapshot = transform_tree(tree, ORIGIN)

    assert refs(snapshot) == {"component:default/root"}
    assert tree.reads == ["catalog-info.yaml"]
    assert snapshot.errors == []


def test_entry_file_reads_only_that_file_and_what_it_points_to() -> None:
    files = {
        "all.yaml": location("all", "./team/catalog.yaml"),
        "team/catalog.yaml": component("payments"),
        "catalog-info.yaml": component("not-an-entry"),
    }

    snapshot = transform(files, ["all.yaml"])

    assert refs(snapshot) == {"location:default/all", "component:default/payments"}


def test_entry_folder_reads_the_catalog_info_files_below_it() -> None:
    files = {
        "services/a/catalog-info.yaml": component("a"),
        "services/b/deeper/catalog-info.yml": component("b"),
        "services/b/other.yaml": component("other"),
        "libs/catalog-info.yaml": component("lib"),
    }

    snapshot = transform(files, ["services/"])

    assert refs(snapshot) == {"component:default/a", "component:default/b"}


def test_missing_entry_path_is_an_error() -> None:
    snapshot = transform({"catalog-info.yaml": component("root")}, ["nope.yaml"])

    assert refs(snapshot) == set()
    assert snapshot.errors == [
        RunError("path 'nope.yaml' does not exist in the source", "nope.yaml")
    ]
    assert snapshot.keep_files == {"nope.yaml"}


def test_entry_path_escaping_the_repository_is_an_error() -> None:
    tree = RecordingTree({"../outside.yaml": component("outside")})

    snapshot = transform_tree(tree, ORIGIN, ["../outside.yaml"])

    assert refs(snapshot) == set()
    assert tree.reads == []
    assert [e.message for e in snapshot.errors] == ["path '../outside.yaml' escapes the repository"]


# --- Location targets -----------------------------------------------------------------------


def test_location_targets_are_followed_relative_to_the_file() -> None:
    files = {
        "teams/catalog-info.yaml": location("teams", "./a/team.yaml", "../shared/b.yaml", "c.yaml"),
        "teams/a/team.yaml": component("a"),
        "shared/b.yaml": component("b"),
        "teams/c.yaml": component("c"),
        "a/team.yaml": component("wrong-base"),
    }

    snapshot = transform(files)

    assert refs(snapshot) == {
        "location:default/teams",
        "component:default/a",
        "component:default/b",
        "component:default/c",
    }
    assert snapshot.errors == []


def test_target_reached_twice_is_read_once() -> None:
    files = {
        "catalog-info.yaml": location("root", "./x.yaml", "x.yaml", "./sub/../x.yaml"),
        "x.yaml": component("x"),
    }

    snapshot = transform(files)

    assert snapshot.files_read == 2
    assert [str(d.entity.ref) for d in snapshot.descriptors].count("component:default/x") == 1


def test_glob_target_reads_every_matching_file() -> None:
    files = {
        "catalog-info.yaml": location("root", "./teams/*.yaml"),
        "teams/a.yaml": component("a"),
        "teams/b.yaml": component("b"),
        "teams/readme.md": "not yaml: [",
    }

    snapshot = transform(files)

    assert refs(snapshot) == {"location:default/root", "component:default/a", "component:default/b"}


@pytest.mark.parametrize(
    ("file", "target"),
    [("catalog-info.yaml", "../x.yaml"), ("sub/catalog-info.yaml", "../../x.yaml")],
)
def test_target_escaping_the_repository_is_an_error_and_not_read(file: str, target: str) -> None:
    tree = RecordingTree({file: location("escape", target), "../x.yaml": component("outside")})

    snapshot = transform_tree(tree, ORIGIN)

    assert refs(snapshot) == {"location:default/escape"}
    assert tree.reads == [file]
    assert len(snapshot.errors) == 1
    error = snapshot.errors[0]
    assert (error.file, error.entity) == (f"{file}:1", "location:default/escape")
    assert repr(target) in error.message
    assert "escapes the repository" in error.message


def test_absolute_target_is_an_error() -> None:
    snapshot = transform({"catalog-info.yaml": location("abs", "/etc/passwd")})

    assert [e.entity for e in snapshot.errors] == ["location:default/abs"]
    assert "escapes the repository" in snapshot.errors[0].message


def test_missing_target_is_an_error_and_its_entities_are_kept() -> None:
    files = {
        "catalog-info.yaml": location("root", "./teams/gone.yaml", "./teams/here.yaml"),
        "teams/here.yaml": component("here"),
    }

    snapshot = transform(files)

    assert refs(snapshot) == {"location:default/root", "component:default/here"}
    assert len(snapshot.errors) == 1
    error = snapshot.errors[0]
    assert (error.file, error.entity) == ("catalog-info.yaml:1", "location:default/root")
    assert "'./teams/gone.yaml' does not exist" in error.message
    assert "presence: optional" in error.message
    assert snapshot.keep_files == {"teams/gone.yaml"}


def test_missing_optional_target_is_fine() -> None:
    files = {"catalog-info.yaml": location("root", "./maybe.yaml", presence="optional")}

    snapshot = transform(files)

    assert refs(snapshot) == {"location:default/root"}
    assert (snapshot.errors, snapshot.keep_files) == ([], set())


def test_remote_target_is_not_followed_and_warns() -> None:
    target = "https://github.com/acme/other/blob/main/catalog-info.yaml"

    snapshot = transform({"catalog-info.yaml": location("remote", target)})

    assert snapshot.errors == []
    assert snapshot.warnings == [
        f"catalog-info.yaml:1: location:default/remote target {target} is remote and was not "
        "followed"
    ]


# --- CODEOWNERS -----------------------------------------------------------------------------


CODEOWNERS = "* @acme/platform\n/services/payments/ @acme/payments-team\n/services/solo/ @jane\n"


def test_codeowners_fills_a_missing_owner() -> None:
    files = {
        ".github/CODEOWNERS": CODEOWNERS,
        "services/payments/catalog-info.yaml": component("payments", owner=None),
        "services/solo/catalog-info.yaml": component("solo", owner=None),
        "catalog-info.yaml": component("root", owner=None),
    }

    snapshot = transform(files)

    assert snapshot.rejected == []
    assert owner_of(snapshot, "component:default/payments") == "group:default/payments-team"
    assert owner_of(snapshot, "component:default/solo") == "user:default/jane"
    assert owner_of(snapshot, "component:default/root") == "group:default/platform"


def test_codeowners_does_not_override_an_explicit_owner() -> None:
    files = {
        "CODEOWNERS": CODEOWNERS,
        "services/payments/catalog-info.yaml": component("payments", owner="user:bob"),
    }

    snapshot = transform(files)

    assert owner_of(snapshot, "component:default/payments") == "user:bob"


def test_codeowners_owner_is_in_the_entity_namespace() -> None:
    files = {
        "CODEOWNERS": CODEOWNERS,
        "services/payments/catalog-info.yaml": component(
            "payments", owner=None, namespace="finance"
        ),
    }

    snapshot = transform(files)

    assert owner_of(snapshot, "component:finance/payments") == "group:finance/payments-team"


def test_codeowners_skips_owners_that_are_not_handles() -> None:
    files = {
        "CODEOWNERS": "* ops@example.com @acme/ops\n",
        "catalog-info.yaml": component("root", owner=None),
    }

    snapshot = transform(files)

    assert owner_of(snapshot, "component:default/root") == "group:default/ops"


def test_github_folder_codeowners_wins_over_the_root_one() -> None:
    files = {
        ".github/CODEOWNERS": "* @acme/from-github-folder\n",
        "CODEOWNERS": "* @acme/from-root\n",
        "catalog-info.yaml": component("root", owner=None),
    }

    snapshot = transform(files)

    assert owner_of(snapshot, "component:default/root") == "group:default/from-github-folder"


@pytest.mark.parametrize(
    ("kind", "spec"),
    [
        ("API", "  type: grpc\n  lifecycle: production\n  definition: syntax\n"),
        ("Resource", "  type: database\n"),
        ("System", "  type: service\n"),
    ],
)
def test_codeowners_fills_the_owner_of_apis_resources_and_systems(kind: str, spec: str) -> None:
    text = f"apiVersion: backstage.io/v1alpha1\nkind: {kind}\nmetadata:\n  name: x\nspec:\n{spec}"

    snapshot = transform({"CODEOWNERS": "* @acme/platform\n", "catalog-info.yaml": text})

    assert owner_of(snapshot, f"{kind.lower()}:default/x") == "group:default/platform"


def test_codeowners_does_not_fill_a_domain_owner() -> None:
    text = "apiVersion: backstage.io/v1alpha1\nkind: Domain\nmetadata:\n  name: retail\nspec: {}\n"

    snapshot = transform({"CODEOWNERS": "* @acme/platform\n", "catalog-info.yaml": text})

    assert refs(snapshot) == set()
    assert [r.ref for r in snapshot.rejected] == ["domain:default/retail"]
    assert "spec.owner" in snapshot.rejected[0].error.message


def test_without_matching_codeowners_a_missing_owner_is_rejected() -> None:
    files = {
        "CODEOWNERS": "/docs/ @acme/docs\n",
        "catalog-info.yaml": component("root", owner=None),
    }

    snapshot = transform(files)

    assert [r.ref for r in snapshot.rejected] == ["component:default/root"]


# --- placeholders ---------------------------------------------------------------------------


def test_text_placeholder_is_resolved_relative_to_the_descriptor() -> None:
    files = {
        "apis/orders/catalog-info.yaml": API_WITH_TEXT.format(target="./openapi.yaml"),
        "apis/orders/openapi.yaml": "openapi: 3.0.0\ninfo: {title: Orders}\n",
    }

    snapshot = transform(files)

    assert snapshot.descriptors[0].entity.spec["definition"] == files["apis/orders/openapi.yaml"]
    assert snapshot.warnings == []


def test_text_placeholder_escaping_the_repository_is_not_read() -> None:
    tree = RecordingTree(
        {"catalog-info.yaml": API_WITH_TEXT.format(target="../secrets.txt"), "../secrets.txt": "S"}
    )

    snapshot = transform_tree(tree, ORIGIN)

    assert tree.reads == ["catalog-info.yaml"]
    assert snapshot.descriptors[0].entity.spec["definition"] == {"$text": "../secrets.txt"}
    assert [(e.file, e.entity) for e in snapshot.errors] == [
        ("catalog-info.yaml:1", "api:default/orders")
    ]
    assert "outside the repository" in snapshot.errors[0].message


# --- annotations ----------------------------------------------------------------------------


def test_location_annotations_are_set_for_a_git_commit() -> None:
    files = {"services/payments/catalog-info.yaml": component("payments")}

    snapshot = transform(files, origin=GIT_ORIGIN)

    annotations = snapshot.descriptors[0].entity.metadata.annotations
    repo = "git:https://git.example.com/acme/shop.git@0123abcd"
    assert annotations == {
        "backstage.io/managed-by-location": f"{repo}:services/payments/catalog-info.yaml",
        "backstage.io/managed-by-origin-location": f"{repo}:services/payments/catalog-info.yaml",
        "backstage.io/source-location": f"{repo}:services/payments/",
        SOURCE_PATH_ANNOTATION: "services/payments/catalog-info.yaml",
    }


@pytest.mark.parametrize(
    ("repo", "blob", "tree", "edit"),
    [
        (
            "https://github.com/acme/shop",
            "https://github.com/acme/shop/blob/main/services/payments/catalog-info.yaml",
            "https://github.com/acme/shop/tree/main/services/payments/",
            "https://github.com/acme/shop/edit/main/services/payments/catalog-info.yaml",
        ),
        (
            "https://gitlab.example.com/acme/platform/shop",
            "https://gitlab.example.com/acme/platform/shop/-/blob/main/services/payments/catalog-info.yaml",
            "https://gitlab.example.com/acme/platform/shop/-/tree/main/services/payments/",
            "https://gitlab.example.com/acme/platform/shop/-/edit/main/services/payments/catalog-info.yaml",
        ),
    ],
)
def test_location_annotations_on_github_and_gitlab_are_backstage_web_urls(
    repo: str, blob: str, tree: str, edit: str
) -> None:
    registered = "url:https://github.com/acme/shop/tree/main"
    origin = Origin(repo, "0123abcd", ref="main", web=web_repo(repo), root=registered)
    files = {"services/payments/catalog-info.yaml": component("payments")}

    snapshot = transform(files, origin=origin)

    annotations = snapshot.descriptors[0].entity.metadata.annotations
    assert annotations == {
        "backstage.io/managed-by-location": f"url:{blob}",
        "backstage.io/managed-by-origin-location": registered,
        "backstage.io/source-location": f"url:{tree}",
        "backstage.io/view-url": blob,
        "backstage.io/edit-url": edit,
        SOURCE_PATH_ANNOTATION: "services/payments/catalog-info.yaml",
    }


def test_location_annotations_are_set_for_a_plain_folder() -> None:
    snapshot = transform({"catalog-info.yaml": component("root")})

    annotations = snapshot.descriptors[0].entity.metadata.annotations
    assert annotations["backstage.io/managed-by-location"] == "file:/srv/shop/catalog-info.yaml"
    assert annotations["backstage.io/source-location"] == "file:/srv/shop/"
    assert annotations[SOURCE_PATH_ANNOTATION] == "catalog-info.yaml"


def test_location_annotations_include_the_origin_prefix() -> None:
    origin = Origin("/srv/mono", "0123abcd", prefix="apps/shop")

    snapshot = transform({"web/catalog-info.yaml": component("web")}, origin=origin)

    annotations = snapshot.descriptors[0].entity.metadata.annotations
    assert annotations["backstage.io/managed-by-location"] == (
        "git:/srv/mono@0123abcd:apps/shop/web/catalog-info.yaml"
    )
    assert annotations[SOURCE_PATH_ANNOTATION] == "web/catalog-info.yaml"


def test_explicit_source_location_is_kept_and_managed_by_location_is_ours() -> None:
    text = component("payments").replace(
        "  name: payments\n",
        "  name: payments\n"
        "  annotations:\n"
        "    backstage.io/source-location: url:https://github.com/acme/payments/\n"
        "    backstage.io/managed-by-location: url:https://elsewhere/\n",
    )

    snapshot = transform({"catalog-info.yaml": text})

    annotations = snapshot.descriptors[0].entity.metadata.annotations
    assert annotations["backstage.io/source-location"] == "url:https://github.com/acme/payments/"
    assert annotations["backstage.io/managed-by-location"] == "file:/srv/shop/catalog-info.yaml"


def test_descriptor_records_its_file_and_line() -> None:
    text = component("first") + "---\n" + component("second")

    snapshot = transform({"svc/catalog-info.yaml": text})

    assert [str(d.location) for d in snapshot.descriptors] == [
        "svc/catalog-info.yaml:1",
        "svc/catalog-info.yaml:10",
    ]


# --- problems -------------------------------------------------------------------------------


def test_yaml_error_is_reported_with_file_line_and_column_and_other_files_load() -> None:
    broken = (
        component("before-error") + "---\n" + "kind: Component\nmetadata:\n  name: [x\n  y: 1\n"
    )
    files = {
        "broken/catalog-info.yaml": broken,
        "fine/catalog-info.yaml": component("fine"),
    }

    snapshot = transform(files)

    assert refs(snapshot) == {"component:default/before-error", "component:default/fine"}
    assert len(snapshot.errors) == 1
    error = snapshot.errors[0]
    assert error.file == "broken/catalog-info.yaml:13:4"
    assert error.message.startswith("YAML error: ")
    assert "entities after this point were not read" in error.message
    assert snapshot.keep_files == {"broken/catalog-info.yaml"}


def test_invalid_entity_is_rejected_and_valid_ones_in_the_same_file_load() -> None:
    text = component("good") + "---\n" + component("bad").replace("  lifecycle: production\n", "")

    snapshot = transform({"svc/catalog-info.yaml": text})

    assert refs(snapshot) == {"component:default/good"}
    assert snapshot.errors == []
    assert len(snapshot.rejected) == 1
    rejected = snapshot.rejected[0]
    assert rejected.ref == "component:default/bad"
    assert rejected.error == RunError(
        "component:default/bad: spec.lifecycle: is required but missing",
        file="svc/catalog-info.yaml:10",
        entity="component:default/bad",
    )
    assert snapshot.keep_files == set()


def test_unknown_kind_is_rejected() -> None:
    text = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: gizmo\nspec: {}\n"

    snapshot = transform({"catalog-info.yaml": text + "---\n" + component("ok")})

    assert refs(snapshot) == {"component:default/ok"}
    assert [r.ref for r in snapshot.rejected] == ["widget:default/gizmo"]
    error = snapshot.rejected[0].error
    assert error.file == "catalog-info.yaml:1"
    assert error.message.startswith("widget:default/gizmo: kind: unknown kind 'Widget'")


def test_entity_that_cannot_be_named_is_an_error_that_keeps_the_file() -> None:
    text = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  title: Nameless\n"

    snapshot = transform({"catalog-info.yaml": text})

    assert snapshot.rejected == []
    assert snapshot.errors == [
        RunError("metadata.name: is required but missing", file="catalog-info.yaml:1")
    ]
    assert snapshot.keep_files == {"catalog-info.yaml"}
