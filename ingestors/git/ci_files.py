"""CI files in a repository become ``Pipeline`` entities linked to its components.

At the root of the source, ``.github/workflows/*.yml|*.yaml`` (GitHub Actions),
``.gitlab-ci.yml`` (GitLab CI) and ``Jenkinsfile`` (Jenkins) each describe one pipeline.
Each becomes a ``Pipeline`` named by :func:`catalog.delivery.pipeline_name` from the
repository's full slug (the components' ``github.com/project-slug`` or
``gitlab.com/project-slug`` annotation, else the source URL's path: ``acme-payments-ci``),
in the namespace the components share (else ``default``), whose
``spec.components`` are all the Components read from the same source (each is then
``builtBy`` the pipeline), with the title and a description (triggers and jobs, or stages)
read from the file. No CI API is needed; when one is configured, it describes the same
pipeline under the same ref, and these descriptors are deferred to it
(:attr:`~ingestors.snapshot.Descriptor.defer`).

A CI file that cannot be read or parsed is a run error naming the file and line, and its
pipeline keeps its last version (the file is in ``keep_files``). A source with CI files but
no Component has nothing to link them to: the files are listed in ``Snapshot.skipped``.

Pure apart from reading the given :class:`~ingestors.git.tree.Tree`.
"""

from __future__ import annotations

import posixpath
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from catalog.delivery import (
    API_VERSION,
    GITLAB_SLUG_ANNOTATION,
    PROJECT_SLUG_ANNOTATION,
    pipeline_name,
    shared_namespace,
    source_slug,
)
from catalog.descriptors import parse_descriptors
from catalog.entity import Entity
from catalog.errors import InvalidRefError, SourceLocation
from catalog.refs import parse_ref
from graph.port import RunError
from ingestors.git.tree import Tree
from ingestors.runner import SOURCE_PATH_ANNOTATION
from ingestors.snapshot import Descriptor, Snapshot

if TYPE_CHECKING:
    from ingestors.git.transform import Origin

GITHUB_ACTIONS = "github-actions"
GITLAB_CI = "gitlab-ci"
JENKINS = "jenkins"

_WORKFLOWS = ".github/workflows/"
#: GitLab CI top-level keys that are not jobs
_GITLAB_KEYWORDS = frozenset(
    {
        "after_script",
        "before_script",
        "cache",
        "default",
        "image",
        "include",
        "services",
        "spec",
        "stages",
        "variables",
        "workflow",
    }
)
_GITLAB_DEFAULT_STAGE = "test"
_JENKINS_STAGE = re.compile(r"""\bstage\s*\(\s*(?:name\s*:\s*)?(['"])(.+?)\1""")


@dataclass(frozen=True)
class CiFile:
    """A CI file found in the tree: its path there and the pipeline type it describes."""

    path: str
    ci: str


@dataclass(frozen=True)
class PipelineText:
    """What a CI file says about its pipeline."""

    title: str | None
    description: str


class CiFileError(ValueError):
    """A CI file whose content is not what its CI system reads (carries ``location``)."""

    def __init__(self, message: str, location: SourceLocation) -> None:
        super().__init__(message)
        self.location = location


def find_ci_files(paths: Iterable[str]) -> list[CiFile]:
    """The CI files among ``paths`` (relative to the source root), in path order."""
    found = []
    for path in sorted(paths):
        if path.startswith(_WORKFLOWS) and "/" not in path[len(_WORKFLOWS) :]:
            if path.endswith((".yml", ".yaml")):
                found.append(CiFile(path, GITHUB_ACTIONS))
        elif path == ".gitlab-ci.yml":
            found.append(CiFile(path, GITLAB_CI))
        elif path == "Jenkinsfile":
            found.append(CiFile(path, JENKINS))
    return found


def _names(value: Any) -> list[str]:
    """Keys of a mapping, items of a list, or the one string: as text."""
    if isinstance(value, dict):
        return [str(k) for k in value]
    if isinstance(value, list):
        return [str(v) for v in value if not isinstance(v, dict | list)]
    if value is None:
        return []
    return [str(value)]


def _yaml_mapping(text: str, path: str, what: str) -> dict[Any, Any]:
    parsed = parse_descriptors(text, path)
    if parsed.error is not None:
        raise CiFileError(f"{parsed.error.message}; fix the YAML", parsed.error.location)
    if not parsed.documents or not isinstance(parsed.documents[0].data, dict):
        where = parsed.documents[0].location if parsed.documents else SourceLocation(path, 1)
        raise CiFileError(f"{what} must be a YAML mapping; fix the file", where)
    data: dict[Any, Any] = parsed.documents[0].data
    return data


def read_workflow(text: str, path: str) -> PipelineText:
    """A GitHub Actions workflow: title from ``name``, triggers from ``on``, the job ids."""
    data = _yaml_mapping(text, path, "a workflow (name, on, jobs)")
    # YAML 1.1 reads the key ``on`` as the boolean true.
    triggers = _names(data.get("on", data.get(True)))
    jobs = _names(data.get("jobs"))
    parts = ["GitHub Actions workflow."]
    if triggers:
        parts.append(f"Triggers: {', '.join(triggers)}.")
    if jobs:
        parts.append(f"Jobs: {', '.join(jobs)}.")
    name = data.get("name")
    return PipelineText(str(name) if name else None, " ".join(parts))


def read_gitlab_ci(text: str, path: str) -> PipelineText:
    """A ``.gitlab-ci.yml``: title from ``workflow.name``, the stages (declared, else used)."""
    data = _yaml_mapping(text, path, "a .gitlab-ci.yml (stages and jobs)")
    jobs = {
        str(key): value
        for key, value in data.items()
        if isinstance(value, dict)
        and str(key) not in _GITLAB_KEYWORDS
        and not str(key).startswith(".")
    }
    stages = _names(data.get("stages"))
    if not stages:
        used = (str(job.get("stage") or _GITLAB_DEFAULT_STAGE) for job in jobs.values())
        stages = list(dict.fromkeys(used))
    parts = ["GitLab CI pipeline."]
    if stages:
        parts.append(f"Stages: {', '.join(stages)}.")
    if jobs:
        parts.append(f"Jobs: {', '.join(jobs)}.")
    workflow = data.get("workflow")
    name = workflow.get("name") if isinstance(workflow, dict) else None
    return PipelineText(str(name) if name else None, " ".join(parts))


def read_jenkinsfile(text: str) -> PipelineText:
    """A Jenkinsfile (Groovy, declarative or scripted): the names of its ``stage(...)``s."""
    stages = list(dict.fromkeys(match.group(2) for match in _JENKINS_STAGE.finditer(text)))
    parts = ["Jenkins pipeline."]
    if stages:
        parts.append(f"Stages: {', '.join(stages)}.")
    return PipelineText(None, " ".join(parts))


def read_ci_file(ci_file: CiFile, text: str) -> PipelineText:
    """What ``text`` (the content of ``ci_file``) says; raises :class:`CiFileError`."""
    if ci_file.ci == GITHUB_ACTIONS:
        return read_workflow(text, ci_file.path)
    if ci_file.ci == GITLAB_CI:
        return read_gitlab_ci(text, ci_file.path)
    return read_jenkinsfile(text)


@dataclass(frozen=True)
class Repository:
    """What the components read from the source say about their repository: ``name`` is the
    slug of the source URL (:func:`catalog.delivery.source_slug`), the slugs are the
    components' annotations (which win: they name the repository the CI APIs know)."""

    name: str
    github_slug: str | None
    gitlab_slug: str | None
    namespace: str
    owner: str | None
    components: tuple[str, ...]

    def slug(self, ci: str) -> str | None:
        """The slug naming the repository for a pipeline of type ``ci``."""
        if ci == GITLAB_CI:
            return self.gitlab_slug or self.github_slug
        return self.github_slug or self.gitlab_slug


def _most_common(values: Iterable[str]) -> str | None:
    counts = Counter(v for v in values if v)
    if not counts:
        return None
    return min(counts, key=lambda v: (-counts[v], v))


def _owner_ref(component: Entity) -> str | None:
    owner = component.spec.get("owner")
    if not isinstance(owner, str):
        return None
    try:
        return str(
            parse_ref(owner, default_kind="group", default_namespace=component.ref.namespace)
        )
    except InvalidRefError:
        return None


def describe_repository(
    source_repo: str, components: Sequence[Entity], rejected: Sequence[str] = ()
) -> Repository:
    """The repository seen through its ``components`` (and refs of ``rejected`` ones, which
    keep their last good version); ``source_repo`` is the source URL or path."""
    annotations = [c.metadata.annotations for c in components]
    owners = {_owner_ref(c) for c in components}
    refs = dict.fromkeys([*(str(c.ref) for c in components), *rejected])
    return Repository(
        name=source_slug(source_repo),
        github_slug=_most_common(a.get(PROJECT_SLUG_ANNOTATION, "") for a in annotations),
        gitlab_slug=_most_common(a.get(GITLAB_SLUG_ANNOTATION, "") for a in annotations),
        namespace=shared_namespace(str(c.ref) for c in components),
        owner=owners.pop() if len(owners) == 1 else None,
        components=tuple(refs),
    )


def pipeline_document(
    ci_file: CiFile, text: PipelineText, repository: Repository, origin: Origin
) -> dict[str, Any]:
    """The raw ``Pipeline`` descriptor of a CI file (validated by the caller)."""
    slug = repository.slug(ci_file.ci)
    metadata: dict[str, Any] = {
        "name": pipeline_name(slug or repository.name, ci_file.ci, ci_file.path),
        "namespace": repository.namespace,
        "description": text.description,
        "annotations": {
            "backstage.io/managed-by-location": origin.url(ci_file.path),
            "backstage.io/source-location": origin.url(ci_file.path, directory=True),
            SOURCE_PATH_ANNOTATION: ci_file.path,
        },
    }
    if text.title:
        metadata["title"] = text.title
    spec: dict[str, Any] = {
        "type": ci_file.ci,
        "components": list(repository.components),
        "repository": slug or repository.name,
        "path": posixpath.join(origin.prefix, ci_file.path) if origin.prefix else ci_file.path,
    }
    if repository.owner:
        spec["owner"] = repository.owner
    return {"apiVersion": API_VERSION, "kind": "Pipeline", "metadata": metadata, "spec": spec}


def add_ci_pipelines(
    snapshot: Snapshot,
    tree: Tree,
    origin: Origin,
    paths: Sequence[str],
    sent: Sequence[Descriptor] = (),
) -> None:
    """Add a deferred ``Pipeline`` descriptor to ``snapshot`` for each CI file in ``paths``,
    linked to the Components read: those ``sent`` already (a streamed read), then those
    in it; problems become its errors."""
    ci_files = find_ci_files(paths)
    if not ci_files:
        return
    read = [*sent, *snapshot.descriptors]
    components = [d.entity for d in read if d.kind.lower() == "component"]
    rejected = [r.ref for r in snapshot.rejected if r.ref.startswith("component:")]
    if not components:
        if rejected or snapshot.keep_files:
            # Descriptors could not be read: what the pipelines link to is unknown this time.
            snapshot.keep_files.update(f.path for f in ci_files)
            return
        snapshot.skipped.extend(
            f"{f.path}: no Component in this source to link the pipeline to" for f in ci_files
        )
        return
    repository = describe_repository(origin.repo, components, rejected)
    tree.prefetch([f.path for f in ci_files])
    for ci_file in ci_files:
        _add_pipeline(snapshot, tree, origin, ci_file, repository)


def _add_pipeline(
    snapshot: Snapshot, tree: Tree, origin: Origin, ci_file: CiFile, repository: Repository
) -> None:
    try:
        text = read_ci_file(ci_file, tree.read(ci_file.path))
    except OSError as exc:
        snapshot.errors.append(RunError(f"could not be read: {exc}", file=ci_file.path))
        snapshot.keep_files.add(ci_file.path)
        return
    except CiFileError as exc:
        snapshot.errors.append(
            RunError(f"{exc}; its pipeline keeps its last version", file=str(exc.location))
        )
        snapshot.keep_files.add(ci_file.path)
        return
    snapshot.files_read += 1
    raw = pipeline_document(ci_file, text, repository, origin)
    snapshot.add(raw, SourceLocation(ci_file.path, 1), defer=True)
