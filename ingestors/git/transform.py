"""The git source's transform: from a repository tree to validated entities.

Pure apart from reading the given :class:`~ingestors.git.tree.Tree`: discovers
``catalog-info.yaml`` / ``.yml`` at any depth (or starts from the given entry paths),
follows ``Location`` targets relative to the file, resolves ``$text`` placeholders, fills
a missing owner from CODEOWNERS, adds location annotations, and validates every entity.
CI files at the root (workflows, ``.gitlab-ci.yml``, ``Jenkinsfile``) become Pipelines
linked to the components read (:mod:`.ci_files`).
Problems become run errors with file, line and entity; the rest goes on.
"""

from __future__ import annotations

import fnmatch
import posixpath
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from catalog.descriptors import (
    PLACEHOLDER_KEYS,
    ParsedFile,
    parse_descriptors,
    placeholder_targets,
    resolve_placeholders,
)
from catalog.errors import InvalidEntityError, SourceLocation
from catalog.kinds import CORE_KINDS, OWNABLE_BY_CODEOWNERS, SOURCE_KINDS
from catalog.locations import inside, raw_targets
from catalog.validation import validate_entity
from graph.port import RunError
from ingestors.git.ci_files import add_ci_pipelines
from ingestors.git.codeowners import CODEOWNERS_PATHS, owner_ref, owners_for, parse_codeowners
from ingestors.git.files import FileRefused
from ingestors.git.tree import Tree
from ingestors.runner import SOURCE_PATH_ANNOTATION
from ingestors.snapshot import Descriptor, Rejected, Snapshot

DESCRIPTOR_NAMES = frozenset({"catalog-info.yaml", "catalog-info.yml"})
#: how the warning for a read that found no descriptor file begins
NO_DESCRIPTORS = "no catalog-info.yaml or catalog-info.yml found"
#: queued files handed to :meth:`Tree.prefetch` at a time
READ_AHEAD = 512
KNOWN_KINDS = {**CORE_KINDS, **SOURCE_KINDS}

#: Parses (text, path) pairs into their files' documents, in order; :func:`parse_each` in
#: this process, or :class:`ingestors.git.parsing.ParserPool` across processes.
ParseMany = Callable[[Sequence[tuple[str, str]]], list[ParsedFile]]


def parse_each(files: Sequence[tuple[str, str]]) -> list[ParsedFile]:
    return [parse_descriptors(text, path) for text, path in files]


@dataclass(frozen=True)
class Origin:
    """Where the tree came from, for the location annotations."""

    repo: str
    commit: str | None
    prefix: str = ""

    def url(self, path: str, directory: bool = False) -> str:
        full = posixpath.join(self.prefix, path) if self.prefix else path
        if directory:
            full = posixpath.dirname(full)
            full = f"{full}/" if full else ""
        at = f"@{self.commit}" if self.commit else ""
        return f"git:{self.repo}{at}:{full}" if self.commit else f"file:{self.repo}/{full}"


@dataclass(frozen=True)
class _Loaded:
    """A queued file, read and parsed (or why it could not be read)."""

    path: str
    text: str | None
    failure: OSError | None
    parsed: ParsedFile


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
    def __init__(self, tree: Tree, origin: Origin, parse_many: ParseMany = parse_each) -> None:
        self.tree = tree
        self.parse_many = parse_many
        self.origin = origin
        self.all_paths = tree.paths()
        self.known = set(self.all_paths)
        self.snapshot = Snapshot(source_type="git", commit=origin.commit)
        self.queue: deque[str] = deque()
        self.queued: set[str] = set()
        self.codeowners = []
        for candidate in CODEOWNERS_PATHS:
            if candidate in self.known:
                try:
                    self.codeowners = parse_codeowners(tree.read(candidate))
                except OSError as exc:
                    self.snapshot.warnings.append(f"{candidate}: could not be read ({exc})")
                break

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
            self.tree.prefetch(batch)
            loaded = self.load_all(batch)
            self.tree.prefetch([target for item in loaded for target in self.placeholders(item)])
            for item in loaded:
                self.take(item)
        return self.snapshot

    def load_all(self, paths: Sequence[str]) -> list[_Loaded]:
        """Read the files, then parse the ones read (together: in parallel, with a pool)."""
        texts: list[tuple[str, str | OSError]] = []
        for path in paths:
            try:
                texts.append((path, self.tree.read(path)))
            except OSError as exc:
                texts.append((path, exc))
        parsed = iter(self.parse_many([(t, p) for p, t in texts if isinstance(t, str)]))
        return [
            _Loaded(path, text, None, next(parsed))
            if isinstance(text, str)
            else _Loaded(path, None, text, ParsedFile())
            for path, text in texts
        ]

    def placeholders(self, item: _Loaded) -> list[str]:
        """Paths in the tree that the file's placeholders will read."""
        if item.text is None or not any(key in item.text for key in PLACEHOLDER_KEYS):
            return []
        directory = posixpath.dirname(item.path)
        found = []
        for document in item.parsed.documents:
            spec = document.data.get("spec") if isinstance(document.data, dict) else None
            for target in placeholder_targets(spec):
                local = inside(posixpath.join(directory, target))
                if local is not None:
                    found.append(local)
        return found

    def take(self, item: _Loaded) -> None:
        path, parsed = item.path, item.parsed
        if item.failure is not None:
            line = item.failure.line if isinstance(item.failure, FileRefused) else None
            self.error(f"could not be read: {item.failure}", str(SourceLocation(path, line)))
            self.snapshot.keep_files.add(path)
            return
        self.snapshot.files_read += 1
        for document in parsed.documents:
            self.read_document(document.data, document.location)
        if parsed.error is not None:
            self.error(
                f"{parsed.error.message}; fix the YAML (entities after this point were not read)",
                str(parsed.error.location),
            )
            self.snapshot.keep_files.add(path)

    def read_document(self, raw: Any, location: SourceLocation) -> None:
        path = location.file
        identity = _identity(raw)
        if (
            isinstance(raw, dict)
            and isinstance(raw.get("kind"), str)
            and raw["kind"].lower() not in KNOWN_KINDS
        ):
            self.reject(
                InvalidEntityError(
                    f"unknown kind {raw['kind']!r}; use one of {', '.join(KNOWN_KINDS.values())}",
                    entity=identity,
                    field="kind",
                    location=location,
                ),
                identity,
                path,
            )
            return
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
            return self.tree.read(local)

        spec = raw.get("spec")
        if isinstance(spec, dict):
            resolution = resolve_placeholders(spec, read_relative)
            resolved = resolution.data
            raw["spec"] = spec = dict(resolved) if isinstance(resolved, dict) else resolved
            self.snapshot.warnings.extend(f"{location}: spec.{w}" for w in resolution.warnings)
            for problem in resolution.errors:
                self.error(f"spec.{problem}", str(location), identity)
            kind = str(raw.get("kind", "")).lower()
            if (
                isinstance(spec, dict)
                and kind in OWNABLE_BY_CODEOWNERS
                and not spec.get("owner")
                and self.codeowners
            ):
                # Backstage resolves the CODEOWNERS owner in the entity's own namespace.
                metadata = raw.get("metadata")
                namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
                if not isinstance(namespace, str) or not namespace:
                    namespace = "default"
                for owner in owners_for(self.codeowners, posixpath.join(self.origin.prefix, path)):
                    ref = owner_ref(owner, namespace)
                    if ref is not None:
                        spec["owner"] = str(ref)
                        break
        metadata = raw.get("metadata")
        if isinstance(metadata, dict):
            raw["metadata"] = metadata = dict(metadata)
            annotations = metadata.get("annotations")
            if annotations is None:
                annotations = {}
            if isinstance(annotations, dict):
                metadata["annotations"] = annotations = dict(annotations)
                annotations["backstage.io/managed-by-location"] = self.origin.url(path)
                annotations.setdefault(
                    "backstage.io/source-location", self.origin.url(path, directory=True)
                )
                annotations[SOURCE_PATH_ANNOTATION] = path
        return raw

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
            self.enqueue(local)


def transform_tree(
    tree: Tree,
    origin: Origin,
    entry_paths: Sequence[str] = (),
    parse_many: ParseMany = parse_each,
) -> Snapshot:
    """Read every descriptor reachable in ``tree`` into a :class:`Snapshot`.

    Without ``entry_paths`` every ``catalog-info.yaml``/``.yml`` is read; with them, the given
    files are read and given folders are searched for ``catalog-info`` files. ``parse_many``
    parses the files of each batch read (the same result whichever parser it is).
    """
    walk = _Walk(tree, origin, parse_many)
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
    snapshot = walk.run()
    add_ci_pipelines(snapshot, tree, origin, walk.all_paths)
    return snapshot
