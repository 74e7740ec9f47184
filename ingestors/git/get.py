"""The git source's ``get``: open the repository (a clone or checkout by :mod:`.tree`, or a
plain folder) and hand its files to the pure :mod:`.transform`.

Descriptor files are parsed across processes when a batch is large
(:mod:`.parsing`). The tree is read lazily (a file's bytes come from git when the transform asks for them),
so the transform runs while the checkout is open; both happen in one blocking call, which
the fetch runs in a thread.
"""

from __future__ import annotations

from collections.abc import Sequence

from ingestors.git.parsing import ParserPool
from ingestors.git.transform import Origin, transform_tree
from ingestors.git.tree import open_source
from ingestors.snapshot import Snapshot


def read_git_source(source: str, ref: str | None = None, paths: Sequence[str] = ()) -> Snapshot:
    """Open the source and transform it (blocking: git subprocesses)."""
    with open_source(source, ref) as checkout, ParserPool() as parse_many:
        origin = Origin(checkout.repo, checkout.commit, checkout.prefix)
        snapshot = transform_tree(checkout.tree, origin, paths, parse_many)
        if checkout.commit is None:
            snapshot.warnings.insert(
                0, f"{checkout.repo} is not a git repository: read the files on disk as they are"
            )
        return snapshot
