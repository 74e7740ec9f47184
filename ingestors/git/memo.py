"""Unchanged files are not parsed again: what each descriptor file produced is kept by its
git blob id (:class:`graph.port.SourceFile`), and a read whose file has the same blob, and
whose other inputs are the same, takes the entities it produced last time instead of
reading it.

A file's other inputs: the files its placeholders (``$text``, ``$json``, ``$yaml``) read,
each by blob; the CODEOWNERS file (owners of entities without one); and where the source
is (repository URL, folder). Its Location targets are followed again (kept as
``follows``; a target that is gone means the file is read again, to report it).

When an unchanged file's entity is defined again by a file that was read (which of two
definitions a full read keeps depends on the order), the read is made again with that
file read too. Only clean files are kept: one that gave an error, a warning or an invalid entity,
whose Location uses a glob, or one of whose entities declares a relation leaving another
entity (a Group's ``members``: kept unread, that relation could not be told from one the
other entity dropped), is read on every run. A tree without blob ids (a plain folder)
keeps nothing, nor does a source with CI files (their pipelines link every component read).

What a skipped file's entities carry is what the run that read it wrote, so their
location annotations (``backstage.io/managed-by-location``) name the commit they were
read at, where the file is the same; everything else equals a full read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from graph.port import SourceFile
from ingestors.git.tree import Tree
from ingestors.snapshot import FileMemos, Snapshot

#: the rules a memo was kept under: a change to which files are kept forgets every memo
#: kept under the old ones (2: not a file declaring a relation leaving another entity)
RULES = "2"


def _context(repo: str, prefix: str, codeowners: str | None) -> str:
    text = f"{RULES}\n{repo}\n{prefix}\n{codeowners or '-'}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def encode_deps(context: str, files: Mapping[str, str]) -> str:
    """The ``deps`` of a file: the context, then ``path\\tblob`` per file it read."""
    return "\n".join([context, *(f"{p}\t{b}" for p, b in sorted(files.items()))])


def decode_deps(deps: str) -> tuple[str, dict[str, str]]:
    context, *lines = deps.split("\n")
    return context, dict(line.split("\t", 1) for line in lines if "\t" in line)


class Memo:
    """The kept files of one read: :meth:`unchanged` says whether a file may be skipped,
    :meth:`read` records one read cleanly; :attr:`memos` is what the snapshot carries."""

    def __init__(
        self,
        tree: Tree,
        known: Mapping[str, SourceFile],
        repo: str,
        prefix: str,
        codeowners: str | None,
    ) -> None:
        self.tree = tree
        self.known = known
        self.context = _context(repo, prefix, codeowners)
        self.memos = FileMemos()
        self.read_anyway: set[str] = set()  # files read even when unchanged

    def unchanged(self, path: str, paths: set[str]) -> SourceFile | None:
        """The file's memo when reading it again would give the same: its blob, its
        dependencies and its context are the same, and its Location targets still exist."""
        memo = self.known.get(path)
        if memo is None or path in self.read_anyway or self.tree.blob(path) != memo.blob:
            return None
        context, files = decode_deps(memo.deps)
        if context != self.context:
            return None
        if any(self.tree.blob(dep) != blob for dep, blob in files.items()):
            return None
        if any(target not in paths for target in memo.follows):
            return None
        self.memos.unchanged.append(memo)
        return memo

    def read(
        self,
        path: str,
        keys: Sequence[str],
        deps: Sequence[str],
        follows: Sequence[str],
        clean: bool,
    ) -> None:
        """Record a file read; kept for next time only when ``clean`` and every file it
        depends on has a blob id."""
        blob = self.tree.blob(path)
        blobs = {dep: self.tree.blob(dep) for dep in deps}
        if not clean or blob is None or any(b is None for b in blobs.values()):
            self.memos.forgotten.append(path)
            return
        kept = {dep: b for dep, b in blobs.items() if b is not None}
        self.memos.read.append(
            SourceFile(
                path,
                blob,
                encode_deps(self.context, kept),
                tuple(dict.fromkeys(keys)),
                tuple(dict.fromkeys(follows)),
            )
        )

    def overlapping(self, snapshot: Snapshot) -> set[str]:
        """The unchanged files one of whose entities is defined again (by a file read, or
        another unchanged file): which definition a full read keeps depends on the order,
        so the read is made again with these files read too."""
        read = {d.key for d in snapshot.descriptors}
        read.update(r.ref.lower() for r in snapshot.rejected)
        owners: dict[str, list[str]] = {}
        for memo in self.memos.unchanged:
            for key in memo.keys:
                owners.setdefault(key, []).append(memo.path)
        return {
            path for key, paths in owners.items() if len(paths) > 1 or key in read for path in paths
        }

    def finish(self) -> FileMemos:
        """The memos, with every known file this read did not meet forgotten."""
        met = {m.path for m in self.memos.unchanged} | {m.path for m in self.memos.read}
        met.update(self.memos.forgotten)
        self.memos.forgotten.extend(p for p in self.known if p not in met)
        return self.memos
