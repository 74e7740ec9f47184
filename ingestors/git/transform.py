"""The git source's transform: from a repository tree to validated entities.

long: one walk reads the files, follows Locations and placeholders, and notes what each file
produced (for :mod:`.memo`) as it goes; split, the per-file bookkeeping would reach into the
walk's state from outside.

Pure apart from reading the given :class:`~ingestors.git.tree.Tree`: discovers
``catalog-info.yaml`` / ``.yml`` at any depth (or starts from the given entry paths),
follows ``Location`` targets relative to the file, resolves ``$text`` placeholders, fills
a missing owner from CODEOWNERS, adds location annotations, and validates every entity
(entities of any kind: which kinds are admitted is the runner's first phase, by the rules of
:mod:`catalog.rules`).
CI files at the root (workflows, ``.gitlab-ci.yml``, ``Jenkinsfile``) become Pipelines
linked to the components read (:mod:`.ci_files`).
Problems become run errors with file, line and entity; the rest goes on.

What a file's documents need of nothing but the file is done where it is parsed
(:class:`FileReader`, in the parse workers of a large read): each document that reads no
other file (no placeholder) is located (owner, annotations), validated and prepared for the
store there; the walk takes it as it comes. A document with a placeholder, or one that is
not valid, comes back as parsed and the walk reads it in this process as any document, so
its errors and warnings are the same whoever parsed it.
"""

from __future__ import annotations

import fnmatch
import posixpath
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from catalog.descriptors import (
    PLACEHOLDER_KEYS,
    ParsedFile,
    RawDocument,
    has_placeholder,
    parse_descriptors,
    placeholder_targets,
    resolve_placeholders,
)
from catalog.errors import InvalidEntityError, SourceLocation
from catalog.kinds import OWNABLE_BY_CODEOWNERS
from catalog.locations import inside, raw_targets
from catalog.validation import validate_entity
from graph.port import RunError, SourceFile
from ingestors.git.ci_files import add_ci_pipelines, find_ci_files
from ingestors.git.codeowners import (
    CODEOWNERS_PATHS,
    Rule,
    owner_ref,
    owners_for,
    parse_codeowners,
)
from ingestors.git.files import FileRefused
from ingestors.git.memo import Memo
from ingestors.git.targets import WebRepo
from ingestors.git.tree import Tree
from ingestors.records import Prepared, prepare
from ingestors.runner import SOURCE_PATH_ANNOTATION
from ingestors.snapshot import Descriptor, Rejected, Snapshot
from ingestors.stream import Emit

MANAGED_BY = "backstage.io/managed-by-location"
ORIGIN_LOCATION = "backstage.io/managed-by-origin-location"
VIEW_URL = "backstage.io/view-url"
EDIT_URL = "backstage.io/edit-url"
DESCRIPTOR_NAMES = frozenset({"catalog-info.yaml", "catalog-info.yml"})
#: how the warning for a read that found no descriptor file begins
NO_DESCRIPTORS = "no catalog-info.yaml or catalog-info.yml found"
#: queued files handed to :meth:`Tree.prefetch` at a time
READ_AHEAD = 512
#: a streamed read sends its descriptors once it holds this many (:mod:`ingestors.stream`)
STREAM_BATCH = 2000

#: Reads (text, path) pairs with the given reader (a :class:`FileReader`), in order;
#: :func:`parse_each` in this process, or :class:`ingestors.git.parsing.ParserPool` across
#: processes.
ParseMany = Callable[
    [Callable[[str, str], "ReadFile"], Sequence[tuple[str, str]]], list["ReadFile"]
]


def parse_each(
    read: Callable[[str, str], ReadFile], files: Sequence[tuple[str, str]]
) -> list[ReadFile]:
    return [read(text, path) for text, path in files]


@dataclass(frozen=True)
class Origin:
    """Where the tree came from, for the location annotations.

    ``web``: the repository is on GitHub or GitLab, so locations are written in Backstage's
    ``url:https://…/blob/<ref>/<path>`` form at ``ref`` (a branch or tag), with ``view-url``
    and ``edit-url``; otherwise ``git:<repo>@<commit>:<path>`` (``file:`` for a plain
    folder). ``root``: the location the read started from (a registered location), which
    every entity gets as ``managed-by-origin-location``; None: each file is its own origin.
    """

    repo: str
    commit: str | None
    prefix: str = ""
    ref: str | None = None
    web: WebRepo | None = None
    root: str | None = None

    def _full(self, path: str) -> str:
        return posixpath.join(self.prefix, path) if self.prefix else path

    def url(self, path: str, directory: bool = False) -> str:
        full = self._full(path)
        if self.web is not None and self.ref:
            if directory:
                return f"url:{self.web.tree(self.ref, posixpath.dirname(full))}"
            return f"url:{self.web.blob(self.ref, full)}"
        if directory:
            full = posixpath.dirname(full)
            full = f"{full}/" if full else ""
        at = f"@{self.commit}" if self.commit else ""
        return f"git:{self.repo}{at}:{full}" if self.commit else f"file:{self.repo}/{full}"

    def location_annotations(self, path: str) -> dict[str, str]:
        """The annotations every entity read from ``path`` gets: where it is managed and
        where the read started; on GitHub or GitLab also its view and edit pages."""
        here = self.url(path)
        found = {MANAGED_BY: here, ORIGIN_LOCATION: self.root or here}
        if self.web is not None and self.ref:
            found[VIEW_URL] = self.web.blob(self.ref, self._full(path))
            found[EDIT_URL] = self.web.edit(self.ref, self._full(path))
        return found


def _declares_for_others(descriptor: Descriptor) -> bool:
    """Whether the entity declares a relation leaving another entity (a Group's ``members``,
    a Component's ``dependencyOf``): a run that kept its file unread could not tell that
    relation from one the other entity dropped, so such a file is read every time."""
    me = descriptor.key
    if descriptor.prepared is not None:
        return any(source.lower() != me for source, _, _ in descriptor.prepared.relations)
    return any(relation.source_ref.lower() != me for relation in descriptor.relations())


def locate(
    raw: dict[str, Any], path: str, origin: Origin, codeowners: Sequence[Rule]
) -> dict[str, Any]:
    """A document read from ``path`` (its placeholders resolved) with a missing owner filled
    from CODEOWNERS and the location annotations added. ``raw`` is left as it was: what is
    changed (the document, its metadata and annotations, the spec) is copied first."""
    raw = dict(raw)
    spec = raw.get("spec")
    kind = str(raw.get("kind", "")).lower()
    ownable = kind in OWNABLE_BY_CODEOWNERS and bool(codeowners)
    if isinstance(spec, dict) and ownable and not spec.get("owner"):
        # Backstage resolves the CODEOWNERS owner in the entity's own namespace.
        metadata = raw.get("metadata")
        namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
        if not isinstance(namespace, str) or not namespace:
            namespace = "default"
        for owner in owners_for(codeowners, posixpath.join(origin.prefix, path)):
            ref = owner_ref(owner, namespace)
            if ref is not None:
                raw["spec"] = {**spec, "owner": str(ref)}
                break
    metadata = raw.get("metadata")
    if isinstance(metadata, dict):
        raw["metadata"] = metadata = dict(metadata)
        annotations = metadata.get("annotations")
        if annotations is None:
            annotations = {}
        if isinstance(annotations, dict):
            metadata["annotations"] = annotations = dict(annotations)
            for key, value in origin.location_annotations(path).items():
                if key in (MANAGED_BY, ORIGIN_LOCATION):
                    annotations[key] = value
                else:
                    annotations.setdefault(key, value)
            annotations.setdefault("backstage.io/source-location", origin.url(path, directory=True))
            annotations[SOURCE_PATH_ANNOTATION] = path
    return raw


@dataclass(frozen=True)
class ReadFile:
    """A descriptor file as :class:`FileReader` leaves it: parsed, and per document the
    entity prepared for the store, or None (then the document's data is in ``parsed``)."""

    parsed: ParsedFile
    prepared: tuple[Prepared | None, ...]


@dataclass(frozen=True)
class FileReader:
    """Parses a descriptor file and takes each of its documents that needs no other file as
    far as the store record (:func:`~ingestors.records.prepare`); picklable, so it runs in
    a parse worker. A document with a placeholder, one that is not a mapping and one that is
    not valid are left as parsed (data kept, ``None`` prepared) for the walk to read."""

    origin: Origin
    codeowners: tuple[Rule, ...] = ()

    def __call__(self, text: str, path: str) -> ReadFile:
        parsed = parse_descriptors(text, path)
        documents: list[RawDocument] = []
        prepared: list[Prepared | None] = []
        for document in parsed.documents:
            ready = self.prepare(document.data, document.location)
            prepared.append(ready)
            documents.append(document if ready is None else RawDocument(None, document.location))
        return ReadFile(ParsedFile(documents, parsed.error), tuple(prepared))

    def prepare(self, raw: Any, location: SourceLocation) -> Prepared | None:
        if not isinstance(raw, dict) or has_placeholder(raw.get("spec")):
            return None
        try:
            located = locate(raw, location.file, self.origin, self.codeowners)
            entity = validate_entity(located, location)
        except InvalidEntityError:
            return None  # the walk reads it again and says why, at its location
        return prepare(entity)


@dataclass(frozen=True)
class _Loaded:
    """A queued file, read and parsed (or why it could not be read)."""

    path: str
    text: str | None
    failure: OSError | None
    read: ReadFile


def _identity(raw: Any) -> str | None:
    """``kind:namespace/name`` of a raw document, when it can be told."""
    if not isinstance(raw, dict) or not isinstance(raw.get("metadata"), dict):
        return None
    kind, name = raw.get("kind"), raw["metadata"].get("name")
    namespace = raw["metadata"].get("namespace", "default")
    if isinstance(kind, str) and isinstance(name, str) and isinstance(namespace, str):
        return f"{kind.lower()}:{namespace}/{name}"
    return None


class _Walk:
    def __init__(
        self,
        tree: Tree,
        origin: Origin,
        known: Mapping[str, SourceFile] | None = None,
        parse_many: ParseMany = parse_each,
        emit: Emit | None = None,
    ) -> None:
        self.tree = tree
        self.parse_many = parse_many
        self.emit = emit
        #: the Components sent already, kept for the CI pipelines (which link every one)
        self.components: list[Descriptor] = []
        self.origin = origin
        self.all_paths = tree.paths()
        self.known = set(self.all_paths)
        self.snapshot = Snapshot(source_type="git", commit=origin.commit)
        self.queue: deque[str] = deque()
        self.queued: set[str] = set()
        self.codeowners: list[Rule] = []
        codeowners_blob: str | None = None
        for candidate in CODEOWNERS_PATHS:
            if candidate in self.known:
                codeowners_blob = tree.blob(candidate) or "?"
                try:
                    self.codeowners = parse_codeowners(tree.read(candidate))
                except OSError as exc:
                    self.snapshot.warnings.append(f"{candidate}: could not be read ({exc})")
                break
        # what the file being taken depends on (placeholder reads), leads to (Location
        # targets), and whether it cannot be kept (a glob target)
        self.deps: list[str] = []
        self.follows: list[str] = []
        self.dirty = False
        self.memo: Memo | None = None
        keeps = known is not None and self.all_paths and tree.blob(self.all_paths[0]) is not None
        self.keep_components = bool(find_ci_files(self.all_paths))
        if keeps and known is not None and not self.keep_components:
            self.memo = Memo(tree, known, origin.repo, origin.prefix, codeowners_blob)

    def enqueue(self, path: str) -> None:
        if path not in self.queued:
            self.queued.add(path)
            self.queue.append(path)

    def error(self, message: str, file: str | None, entity: str | None = None) -> None:
        self.snapshot.errors.append(RunError(message, file=file, entity=entity))

    def run(self) -> Snapshot:
        """Read the queue in batches: each batch's files, then the files their placeholders
        name, are fetched together before the batch is processed in order."""
        while self.queue:
            batch = [self.queue.popleft() for _ in range(min(len(self.queue), READ_AHEAD))]
            if self.memo is not None:
                batch = [path for path in batch if not self.skipped(path)]
            self.tree.prefetch(batch)
            loaded = self.load_all(batch)
            self.tree.prefetch([target for item in loaded for target in self.placeholders(item)])
            for item in loaded:
                self.take(item)
            if self.emit is not None and len(self.snapshot.descriptors) >= STREAM_BATCH:
                self.send()
        return self.snapshot

    def send(self) -> None:
        """Hand the descriptors taken so far to the runner (a streamed read); a source with
        CI files keeps its Components for their pipelines."""
        assert self.emit is not None
        batch, self.snapshot.descriptors = self.snapshot.descriptors, []
        if self.keep_components:
            self.components.extend(d for d in batch if d.kind.lower() == "component")
        self.emit.put(batch)

    def skipped(self, path: str) -> bool:
        """Whether the file is unchanged (:mod:`.memo`): not read; its targets are followed."""
        assert self.memo is not None
        memo = self.memo.unchanged(path, self.known)
        if memo is None:
            return False
        for target in memo.follows:
            self.enqueue(target)
        return True

    def load_all(self, paths: Sequence[str]) -> list[_Loaded]:
        """Read the files, then parse the ones read (together: in parallel, with a pool)."""
        texts: list[tuple[str, str | OSError]] = []
        for path in paths:
            try:
                texts.append((path, self.tree.read(path)))
            except OSError as exc:
                texts.append((path, exc))
        reader = FileReader(self.origin, tuple(self.codeowners))
        read = iter(self.parse_many(reader, [(t, p) for p, t in texts if isinstance(t, str)]))
        return [
            _Loaded(path, text, None, next(read))
            if isinstance(text, str)
            else _Loaded(path, None, text, ReadFile(ParsedFile(), ()))
            for path, text in texts
        ]

    def placeholders(self, item: _Loaded) -> list[str]:
        """Paths in the tree that the file's placeholders will read."""
        if item.text is None or not any(key in item.text for key in PLACEHOLDER_KEYS):
            return []
        directory = posixpath.dirname(item.path)
        found = []
        for document in item.read.parsed.documents:
            spec = document.data.get("spec") if isinstance(document.data, dict) else None
            for target in placeholder_targets(spec):
                local = inside(posixpath.join(directory, target))
                if local is not None:
                    found.append(local)
        return found

    def take(self, item: _Loaded) -> None:
        """Take a loaded file's entities; remember it for next time when it read cleanly."""
        snapshot = self.snapshot
        problems = (len(snapshot.errors), len(snapshot.warnings), len(snapshot.rejected))
        kept, first = len(snapshot.keep_files), len(snapshot.descriptors)
        self.deps, self.follows, self.dirty = [], [], False
        self.take_documents(item)
        if self.memo is not None:
            clean = not self.dirty and kept == len(snapshot.keep_files)
            clean = clean and problems == (
                len(snapshot.errors),
                len(snapshot.warnings),
                len(snapshot.rejected),
            )
            produced = snapshot.descriptors[first:]
            clean = clean and not any(_declares_for_others(d) for d in produced)
            keys = [d.key for d in produced]
            self.memo.read(item.path, keys, self.deps, self.follows, clean)

    def take_documents(self, item: _Loaded) -> None:
        path, parsed = item.path, item.read.parsed
        if item.failure is not None:
            line = item.failure.line if isinstance(item.failure, FileRefused) else None
            self.error(f"could not be read: {item.failure}", str(SourceLocation(path, line)))
            self.snapshot.keep_files.add(path)
            return
        self.snapshot.files_read += 1
        for document, prepared in zip(parsed.documents, item.read.prepared, strict=True):
            if prepared is None:
                self.read_document(document.data, document.location)
            else:
                self.take_prepared(prepared, document.location)
        if parsed.error is not None:
            self.error(
                f"{parsed.error.message}; fix the YAML (entities after this point were not read)",
                str(parsed.error.location),
            )
            self.snapshot.keep_files.add(path)

    def read_document(self, raw: Any, location: SourceLocation) -> None:
        path = location.file
        identity = _identity(raw)
        if isinstance(raw, dict):
            raw = self.prepare(raw, location, identity)
        try:
            entity = validate_entity(raw, location)
        except InvalidEntityError as exc:
            self.reject(exc, identity, path)
            return
        self.snapshot.descriptors.append(Descriptor(entity, location))
        if entity.kind.lower() == "location":
            self.follow(entity.spec, location, str(entity.ref))

    def take_prepared(self, prepared: Prepared, location: SourceLocation) -> None:
        """Take an entity :class:`FileReader` prepared (as :meth:`read_document` would)."""
        self.snapshot.descriptors.append(Descriptor.ready(prepared, location))
        if prepared.kind.lower() == "location":
            spec = orjson.loads(prepared.document).get("spec")
            self.follow(spec if isinstance(spec, dict) else {}, location, prepared.ref)

    def reject(self, exc: InvalidEntityError, identity: str | None, path: str) -> None:
        error = RunError(
            exc.describe(with_location=False), file=str(exc.location or path), entity=identity
        )
        if identity is None:
            self.snapshot.errors.append(error)
            self.snapshot.keep_files.add(path)
        else:
            self.snapshot.rejected.append(Rejected(identity, error))

    def prepare(
        self, raw: dict[str, Any], location: SourceLocation, identity: str | None
    ) -> dict[str, Any]:
        """Resolve placeholders, fill the owner from CODEOWNERS, add location annotations.

        ``raw`` is left as it was: what is changed (the document, its metadata and
        annotations, the spec) is copied first."""
        path = location.file
        raw = dict(raw)
        directory = posixpath.dirname(path)

        def read_relative(target: str) -> str:
            local = inside(posixpath.join(directory, target))
            if local is None:
                raise PermissionError(f"{target} is outside the repository")
            self.deps.append(local)
            return self.tree.read(local)

        spec = raw.get("spec")
        if isinstance(spec, dict):
            resolution = resolve_placeholders(spec, read_relative)
            resolved = resolution.data
            raw["spec"] = dict(resolved) if isinstance(resolved, dict) else resolved
            self.snapshot.warnings.extend(f"{location}: spec.{w}" for w in resolution.warnings)
            for problem in resolution.errors:
                self.error(f"spec.{problem}", str(location), identity)
        return locate(raw, path, self.origin, self.codeowners)

    def follow(self, spec: dict[str, Any], location: SourceLocation, entity: str) -> None:
        path, where = location.file, str(location)
        targets = raw_targets(spec)
        directory = posixpath.dirname(path)
        for target in targets:
            if not isinstance(target, str):
                continue
            if "://" in target:
                self.snapshot.warnings.append(
                    f"{where}: {entity} target {target} is remote and was not followed"
                )
                continue
            local = inside(posixpath.join(directory, target))
            if local is None:
                self.error(
                    f"target {target!r} escapes the repository and was not read; "
                    "targets must stay inside the source",
                    where,
                    entity,
                )
                continue
            if any(ch in local for ch in "*?["):
                self.dirty = True  # what a glob matches changes with the tree
                matches = [p for p in self.all_paths if fnmatch.fnmatchcase(p, local)]
                for match in matches:
                    self.enqueue(match)
                continue
            if local not in self.known:
                optional = spec.get("presence") == "optional"
                if not optional:
                    self.error(
                        f"target {target!r} does not exist in the source; "
                        "fix the path or mark the Location presence: optional",
                        where,
                        entity,
                    )
                    self.snapshot.keep_files.add(local)
                continue
            self.follows.append(local)
            self.enqueue(local)


def transform_tree(
    tree: Tree,
    origin: Origin,
    entry_paths: Sequence[str] = (),
    known: Mapping[str, SourceFile] | None = None,
    parse_many: ParseMany = parse_each,
    emit: Emit | None = None,
) -> Snapshot:
    """Read every descriptor reachable in ``tree`` into a :class:`Snapshot`.

    Without ``entry_paths`` every ``catalog-info.yaml``/``.yml`` is read; with them, the given
    files are read and given folders are searched for ``catalog-info`` files. With ``known``
    (what the source's files produced last time), unchanged files are not read again
    (:mod:`.memo`) and ``snapshot.files`` says which. ``parse_many`` parses the files of each
    batch read (the same result whichever parser it is).

    With ``emit`` (a read with no file ``known``, so one walk), the descriptors are sent
    in batches as they are taken (:mod:`ingestors.stream`): the snapshot returned holds
    the ones not sent (the CI pipelines, which need every Component, among them).
    """
    if emit is not None and known:
        raise ValueError("a read that skips unchanged files may walk twice: it is not streamed")
    read_anyway: set[str] = set()
    while True:
        snapshot, overlapping = _walk(
            tree, origin, entry_paths, known, read_anyway, parse_many, emit
        )
        if overlapping <= read_anyway:
            return snapshot
        read_anyway |= overlapping  # read these too: the walk's order decides which wins


def _walk(
    tree: Tree,
    origin: Origin,
    entry_paths: Sequence[str],
    known: Mapping[str, SourceFile] | None,
    read_anyway: set[str],
    parse_many: ParseMany,
    emit: Emit | None = None,
) -> tuple[Snapshot, set[str]]:
    """One walk, with the unchanged files not read except ``read_anyway``; and the
    unchanged files whose entities are defined again."""
    walk = _Walk(tree, origin, known, parse_many, emit)
    if walk.memo is not None:
        walk.memo.read_anyway = read_anyway
    if not entry_paths:
        for path in walk.all_paths:
            if posixpath.basename(path) in DESCRIPTOR_NAMES:
                walk.enqueue(path)
        if not walk.queue:
            walk.snapshot.warnings.append(
                f"{NO_DESCRIPTORS} among the source's {len(walk.all_paths)} files; descriptors "
                "with other names are read only when named: give their files or folders with "
                "--path (ingest git) or paths: (stagegraph.yaml)"
            )
    for entry in entry_paths:
        local = inside(entry.strip("/") or ".")
        if local is None:
            walk.error(f"path {entry!r} escapes the repository", entry)
            continue
        if local in walk.known:
            walk.enqueue(local)
            continue
        below = [p for p in walk.all_paths if p.startswith(f"{local}/") or local == ""]
        found = [p for p in below if posixpath.basename(p) in DESCRIPTOR_NAMES]
        if not below:
            walk.error(f"path {entry!r} does not exist in the source", entry)
            walk.snapshot.keep_files.add(local)
        elif not found:
            walk.snapshot.warnings.append(
                f"{NO_DESCRIPTORS} in the folder {entry!r}; name the descriptor files in it "
                "themselves (--path FOLDER/FILE.yaml, repeatable)"
            )
        for path in found:
            walk.enqueue(path)
    if emit is not None:
        emit.expect(len(walk.queue))
    snapshot = walk.run()
    add_ci_pipelines(snapshot, tree, origin, walk.all_paths, walk.components)
    if walk.memo is None:
        return snapshot, set()
    overlapping = walk.memo.overlapping(snapshot)
    snapshot.files = walk.memo.finish()
    return snapshot, overlapping
