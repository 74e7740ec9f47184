"""The benchmark's synthetic catalog: it is a valid git source with the counts and the shape
it claims, and a seed always gives the same catalog."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter, deque
from pathlib import Path

from bench.generate import generate
from bench.shape import CHAIN_LENGTH, Catalog, build_catalog
from catalog.relations import derive_relations
from ingestors.git.get import read_git_source

ROOT = Path(__file__).resolve().parents[2]


def _dependencies(catalog: Catalog) -> dict[str, list[str]]:
    return {
        s.name: [
            ref.removeprefix("component:") for ref in s.depends_on if ref.startswith("component:")
        ]
        for s in catalog.services
    }


def test_generated_repository_reads_back_with_the_counts_it_claims(tmp_path: Path) -> None:
    generated = generate(200, tmp_path / "repo", seed=7)

    snapshot = read_git_source(str(generated.path))

    assert (snapshot.errors, snapshot.rejected, snapshot.warnings) == ([], [], [])
    assert snapshot.commit == generated.commit
    kinds = Counter(d.entity.ref.kind for d in snapshot.descriptors)
    assert kinds == generated.catalog.counts()
    assert kinds.total() == 200
    relations = {r for d in snapshot.descriptors for r in derive_relations(d.entity)}
    assert len(relations) == generated.catalog.relation_count()
    assert 2.5 <= len(relations) / 200 <= 3.5


def test_same_seed_gives_the_same_commit_and_another_seed_another(tmp_path: Path) -> None:
    first = generate(150, tmp_path / "a", seed=3)
    again = generate(150, tmp_path / "b", seed=3)
    other = generate(150, tmp_path / "c", seed=4)

    assert first.commit == again.commit
    assert other.commit != first.commit


def test_catalog_has_a_deep_chain_cycles_and_a_hub_with_the_most_consumers() -> None:
    catalog = build_catalog(5000, seed=1)
    needs = _dependencies(catalog)

    depth = {catalog.deep: 0}
    queue = deque([catalog.deep])
    while queue:
        name = queue.popleft()
        for target in needs[name]:
            if target not in depth:
                depth[target] = depth[name] + 1
                queue.append(target)
    consumers = Counter(api for s in catalog.services for api in s.consumes)
    hub = next(s for s in catalog.services if s.name == catalog.hub)

    assert max(depth.values()) >= CHAIN_LENGTH - 1
    assert catalog.cycles >= 2
    assert any(a in needs[b] and b in needs[a] for a in needs for b in needs[a])
    assert consumers.most_common(1)[0][0] == hub.apis[0].name


def test_generate_command_writes_a_repository(tmp_path: Path) -> None:
    out = tmp_path / "cli"

    done = subprocess.run(
        [sys.executable, "-m", "bench", "generate", "--entities", "120", "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200"},
    )

    assert done.returncode == 0, done.stderr
    assert "120 entities" in done.stdout
    assert (out / "catalog-info.yaml").is_file()
    assert (out / ".git").is_dir()
