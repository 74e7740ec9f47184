"""The git source's ``get``: open the repository (a clone or checkout by :mod:`.tree`, or a
plain folder) and hand its files to the pure :mod:`.transform`.

Descriptor files are parsed across processes when a batch is large
(:mod:`.parsing`). The tree is read lazily (a file's bytes come from git when the transform asks for them),
so the transform runs while the checkout is open; both happen in one blocking call, which
the fetch runs in a thread.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from graph.port import SourceFile
from ingestors.git.parsing import ParserPool
from ingestors.git.targets import web_repo
from ingestors.git.transform import Origin, transform_tree
from ingestors.git.tree import Checkout, is_remote, open_source
from ingestors.snapshot import Snapshot
from ingestors.stream import Emit


def read_git_source(
    source: str,
    ref: str | None = None,
    paths: Sequence[str] = (),
    known: Mapping[str, SourceFile] | None = None,
    root: str | None = None,
    emit: Emit | None = None,
) -> Snapshot:
    """Open the source and transform it (blocking: git subprocesses; parsing in a process
    pool for large batches); files ``known`` to be unchanged are not read again
    (:mod:`ingestors.git.memo`). ``root``: the registered location the read starts from
    (see :class:`Origin`). ``emit``: send the descriptors in batches as they are read
    (:mod:`ingestors.stream`; only with no file ``known``)."""
    with open_source(source, ref) as checkout, ParserPool() as parse_many:
        origin = checkout_origin(checkout, root)
        snapshot = transform_tree(checkout.tree, origin, paths, known, parse_many, emit)
        if checkout.commit is None:
            snapshot.warnings.insert(
                0, f"{checkout.repo} is not a git repository: read the files on disk as they are"
            )
        return snapshot


def checkout_origin(checkout: Checkout, root: str | None = None) -> Origin:
    """The :class:`Origin` of an opened source: a remote on GitHub or GitLab gets web URLs."""
    web = web_repo(checkout.repo) if is_remote(checkout.repo) else None
    return Origin(checkout.repo, checkout.commit, checkout.prefix, checkout.ref, web, root)
