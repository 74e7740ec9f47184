"""Descriptor files parsed by a pool of processes give the same snapshot as parsed in this
one, errors included; what a parse worker prepares for the store is the entity's record."""

from __future__ import annotations

from pathlib import Path

import orjson
import yaml

from catalog.validation import validate_entity
from ingestors.git.parsing import ParserPool
from ingestors.git.transform import FileReader, Origin, locate, parse_each, transform_tree
from ingestors.git.tree import open_source
from ingestors.records import to_record
from tests.gitrepo import GitRepo, component


def test_a_pool_parses_like_this_process(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    for i in range(6):
        repo.write(f"svc-{i}/catalog-info.yaml", component(f"svc-{i}"))
    repo.write("broken/catalog-info.yaml", "kind: Component\nmetadata: [unclosed\n")
    repo.commit()

    def read(pool: ParserPool | None) -> tuple[list[str], list[tuple[str | None, str]], int]:
        with open_source(str(repo.path)) as checkout:
            origin = Origin(checkout.repo, checkout.commit, checkout.prefix)
            snapshot = transform_tree(checkout.tree, origin, (), parse_many=pool or parse_each)
        return (
            sorted(str(d.location) for d in snapshot.descriptors),
            [(e.file, e.message) for e in snapshot.errors],
            snapshot.files_read,
        )

    with ParserPool(workers=2, parallel_from=1) as pool:
        in_pool = read(pool)
        used_a_pool = pool._pool is not None
    here = read(None)

    assert used_a_pool
    assert in_pool == here
    assert len(here[0]) == 6 and len(here[1]) == 1


def test_a_reader_prepares_the_documents_that_need_no_other_file() -> None:
    text = "\n---\n".join(
        [
            component("svc", dependsOn=["component:db"]),
            "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: pets\nspec:\n"
            "  type: openapi\n  lifecycle: production\n  owner: team-a\n"
            "  definition:\n    $text: ./pets.yaml\n",
            component("Not Valid!"),
        ]
    )
    origin = Origin("/srv/repo", "abc123")

    read = FileReader(origin)(text, "svc/catalog-info.yaml")

    ready, placeholder, invalid = read.prepared
    documents = read.parsed.documents
    assert placeholder is None and invalid is None  # left to the walk, which says why
    assert documents[0].data is None and documents[1].data["kind"] == "API"
    assert documents[2].data["metadata"]["name"] == "Not Valid!"
    assert ready is not None and ready.relations == (
        ("component:default/svc", "ownedBy", "group:default/team-a"),
        ("component:default/svc", "dependsOn", "component:default/db"),
    )
    raw = locate(
        yaml.safe_load(component("svc", dependsOn=["component:db"])),
        "svc/catalog-info.yaml",
        origin,
        (),
    )
    expected = to_record(validate_entity(raw))
    written = ready.record()
    assert written == expected
    assert (
        written.document_json is not None
        and orjson.loads(written.document_json) == expected.document
    )
