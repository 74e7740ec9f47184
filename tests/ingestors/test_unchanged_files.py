"""Unchanged files are not parsed again, and the result equals a full read: random edits to
a real repository (titles, relations, placeholders, Locations, CODEOWNERS, broken YAML,
duplicates, removed and added files), each followed by an incremental run and then a full
read of the same commit, compared entity by entity (location annotations aside: they name
the commit a file was last read at), relation by relation and error by error. Both stores."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from graph.port import Direction, EntityFilter, GraphStore, RunRecord
from ingestors.git import ingest_git
from ingestors.records import VOLATILE_ANNOTATIONS
from tests.gitrepo import GitRepo, component

SOURCE = "repo"
TEAMS = ("team-a", "team-b", "team-c")


def _api(name: str) -> str:
    return (
        "apiVersion: backstage.io/v1alpha1\nkind: API\n"
        f"metadata:\n  name: {name}\nspec:\n  type: openapi\n  lifecycle: production\n"
        f"  owner: team-a\n  definition:\n    $text: ./{name}.yaml\n"
    )


def _location(targets: list[str]) -> str:
    listed = ", ".join(targets)
    return (
        "apiVersion: backstage.io/v1alpha1\nkind: Location\n"
        f"metadata:\n  name: extras\nspec:\n  targets: [{listed}]\n"
    )


EDITS = (
    "retitle",
    "relate",
    "remove",
    "add",
    "definition",
    "codeowners",
    "break",
    "duplicate",
    "location",
)


class Repo:
    """A repository of services/<name>/catalog-info.yaml, apis with $text definitions, and
    a Location to descriptors with other names; edited at random."""

    def __init__(self, path: Path, rng: random.Random) -> None:
        self.git = GitRepo(path)
        self.rng = rng
        self.services = [f"s{i:02d}" for i in range(20)]
        for name in self.services:
            self.write_service(name)
        for name in ("orders", "billing"):
            self.git.write(f"apis/{name}/catalog-info.yaml", _api(name))
            self.git.write(f"apis/{name}/{name}.yaml", f"openapi: 3.0.0\ninfo: {{title: {name}}}\n")
        self.extras = ["extra-1.yaml", "extra-2.yaml"]
        for extra in self.extras:
            self.git.write(f"extras/{extra}", component(extra.removesuffix(".yaml")))
        self.git.write("extras/catalog-info.yaml", _location(self.extras))
        self.git.write("CODEOWNERS", "* @team-a\n")
        self.git.commit()

    def write_service(self, name: str, **spec: Any) -> None:
        owner = spec.pop("owner", self.rng.choice((*TEAMS, "")))
        deps = self.rng.sample(self.services, 2)
        self.git.write(
            f"services/{name}/catalog-info.yaml",
            component(name, owner=owner, dependsOn=[f"component:{d}" for d in deps], **spec),
        )

    def edit(self, what: str) -> None:
        name = self.rng.choice(self.services)
        path = f"services/{name}/catalog-info.yaml"
        if what == "retitle":
            self.write_service(name, lifecycle=self.rng.choice(("experimental", "deprecated")))
        elif what == "relate":
            self.write_service(name)
        elif what == "remove" and len(self.services) > 5:
            self.git.remove(path)
            self.services.remove(name)
        elif what == "add":
            new = f"s{len(self.services) + self.rng.randrange(100, 999)}"
            self.services.append(new)
            self.write_service(new)
        elif what == "definition":
            api = self.rng.choice(("orders", "billing"))
            self.git.write(f"apis/{api}/{api}.yaml", f"openapi: 3.0.{self.rng.randrange(9)}\n")
        elif what == "codeowners":
            self.git.write("CODEOWNERS", f"* @{self.rng.choice(TEAMS)}\n")
        elif what == "break":
            self.git.write(path, "kind: Component\nmetadata: [unclosed\n")
        elif what == "duplicate":
            other = self.rng.choice(self.services)
            self.git.write(path, component(other))
        elif what == "location":
            self.extras = self.rng.sample(["extra-1.yaml", "extra-2.yaml"], self.rng.randint(1, 2))
            self.git.write("extras/catalog-info.yaml", _location(self.extras))
        self.git.commit(what)


async def _state(store: GraphStore, run: RunRecord) -> dict[str, Any]:
    """What the source holds (documents without the location annotations, errors), its
    relations, and the run's errors and entities read per kind."""
    entities: dict[str, Any] = {}
    after: str | None = None
    while True:
        page = await store.list_entities(EntityFilter(source=SOURCE), 200, after)
        for entity in page.entities:
            document = entity.document
            annotations = {
                k: v
                for k, v in document["metadata"].get("annotations", {}).items()
                if k not in VOLATILE_ANNOTATIONS
            }
            document = {
                **document,
                "metadata": {**document["metadata"], "annotations": annotations},
            }
            entities[entity.key] = (document, entity.error, entity.hash)
        if not page.has_next:
            break
        after = page.last_key
    relations = await store.get_relations(list(entities), Direction.OUT)
    return {
        "entities": entities,
        "relations": sorted((r.source_ref, r.type, r.target_ref, r.source) for r in relations),
        "errors": sorted((e.message, e.file, e.entity) for e in run.errors),
        "status": run.status,
        "read": {c.kind: c.added + c.updated + c.unchanged for c in run.counts},
    }


async def test_incremental_runs_equal_full_reads_after_random_edits(
    store: GraphStore, tmp_path: Path
) -> None:
    rng = random.Random(13)
    repo = Repo(tmp_path / "repo", rng)
    first = await ingest_git(store, str(repo.git.path), name=SOURCE)
    assert first.status == "SUCCEEDED", first.errors
    skipped = 0
    edits = rng.sample(EDITS, len(EDITS)) + rng.choices(EDITS, k=3)  # each at least once
    for what in edits:
        repo.edit(what)

        incremental = await ingest_git(store, str(repo.git.path), name=SOURCE)
        got = await _state(store, incremental)
        known = await store.source_files(SOURCE)
        await store.update_source_files(SOURCE, [], list(known))
        full = await ingest_git(store, str(repo.git.path), name=SOURCE)
        expected = await _state(store, full)

        assert got == expected, what
        assert "filesUnchanged" not in full.stats
        skipped += incremental.stats.get("filesUnchanged", 0)
    assert skipped > 100  # most files were not read again


async def test_an_unchanged_re_read_reads_no_descriptor(store: GraphStore, tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo", random.Random(1))
    first = await ingest_git(store, str(repo.git.path), name=SOURCE)
    before = await store.get_entities(["component:default/s01"])

    again = await ingest_git(store, str(repo.git.path), name=SOURCE)

    assert (again.status, again.cleanup) == ("SUCCEEDED", "done: 0 stale entities deleted")
    assert again.stats["filesUnchanged"] == 25  # 20 services, 2 APIs, the Location, 2 extras
    assert sum(c.unchanged for c in again.counts) == 25
    after = await store.get_entities(["component:default/s01"])
    # not written again: it keeps the run that last read it
    assert after["component:default/s01"].run_id == first.id
    assert after["component:default/s01"].document == before["component:default/s01"].document
