"""Descriptor files parsed by a pool of processes give the same snapshot as parsed in this
one, errors included."""

from __future__ import annotations

from pathlib import Path

from ingestors.git.parsing import ParserPool
from ingestors.git.transform import Origin, parse_each, transform_tree
from ingestors.git.tree import open_source
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
