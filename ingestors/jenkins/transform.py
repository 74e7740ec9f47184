"""The Jenkins source's transform: from what :mod:`.get` read to validated entities. Pure.

Each buildable job is a ``Pipeline`` (``spec.type: jenkins``); a multibranch project is one
Pipeline whose builds are those of all its branch jobs (each Build has ``branch`` set), since
it stands for one Jenkinsfile in one repository. Its builds are ``Build`` entities
(``runOf`` the pipeline).

A job is linked to catalog components two ways:

- a component's ``jenkins.io/job-full-name`` annotation names the job (case-insensitive; an
  ``instance:`` prefix, as Backstage's Jenkins plugin allows, is ignored);
- the job's Git remote (from its builds) ends with a component's
  ``github.com/project-slug`` or ``gitlab.com/project-slug``.

A job with a known repository is named :func:`catalog.delivery.pipeline_name` from the
repository's full slug (the matched ``project-slug``, else the remote's path: ``acme/payments``
-> ``acme-payments-jenkins``), in the namespace its components share (else ``default``),
and deferred, so it merges with the Jenkinsfile pipeline the git source reads from that
repository; when several jobs build one repository, a multibranch project wins, then the
first by full name, and the others keep :func:`catalog.delivery.jenkins_pipeline_name`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from catalog.delivery import (
    API_VERSION,
    JENKINS_JOB_ANNOTATION,
    build_name,
    jenkins_pipeline_name,
    pipeline_name,
    shared_namespace,
)
from catalog.errors import SourceLocation
from graph.port import RunError
from ingestors.jenkins.payload import GIT_BUILD_DATA, JenkinsPayload, JobPayload, Json, scope_of
from ingestors.runner import SOURCE_PATH_ANNOTATION
from ingestors.snapshot import EventRetention, Snapshot

SOURCE_TYPE = "jenkins"
_SCP_REMOTE = re.compile(r"^[\w.-]+@([\w.-]+):(.+)$")
_BRANCH_PREFIXES = ("refs/remotes/origin/", "refs/heads/", "origin/")


def remote_path(remote: str) -> str | None:
    """The repository path of a Git remote, lowercased: ``git@host:acme/pay.git`` and
    ``https://host/acme/pay.git`` -> ``acme/pay``; None when there is none."""
    text = remote.strip()
    scp = _SCP_REMOTE.match(text)
    if scp:
        path = scp.group(2)
    elif "://" in text:
        path = text.split("://", 1)[1].split("/", 1)[1] if "/" in text.split("://", 1)[1] else ""
    else:
        return None
    path = path.strip("/").removesuffix(".git").strip("/")
    if path.startswith("scm/"):  # Bitbucket Server's https clone URLs
        path = path[4:]
    return path.lower() or None


def _suffixes(path: str) -> list[str]:
    """``group/sub/repo`` -> ``["group/sub/repo", "sub/repo"]`` (two segments at least)."""
    parts = path.split("/")
    return ["/".join(parts[i:]) for i in range(0, max(1, len(parts) - 1))]


def remotes_of(job: JobPayload) -> list[str]:
    """The job's Git remotes from its builds' ``BuildData`` actions, newest build first."""
    found: dict[str, None] = {}
    for build in job.builds:
        for action in build.get("actions") or []:
            if not isinstance(action, dict):
                continue
            if action.get("_class", GIT_BUILD_DATA) != GIT_BUILD_DATA:
                continue
            for url in action.get("remoteUrls") or []:
                if isinstance(url, str) and url:
                    found.setdefault(url, None)
    return list(found)


def _job_annotation_key(value: str) -> str:
    return value.split(":", 1)[1] if ":" in value else value


def iso_from_millis(value: Any) -> str | None:
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        return None
    return datetime.fromtimestamp(value / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _revision(build: Json) -> tuple[str | None, str | None]:
    """(commit, branch) from the git plugin's ``lastBuiltRevision``."""
    for action in build.get("actions") or []:
        if not isinstance(action, dict) or not isinstance(action.get("lastBuiltRevision"), dict):
            continue
        revision = action["lastBuiltRevision"]
        branches = revision.get("branch") or []
        branch = branches[0].get("name") if branches and isinstance(branches[0], dict) else None
        if isinstance(branch, str):
            for prefix in _BRANCH_PREFIXES:
                if branch.startswith(prefix):
                    branch = branch[len(prefix) :]
                    break
        sha = revision.get("SHA1")
        return (sha if isinstance(sha, str) else None), branch
    return None, None


class _Link:
    """How one job links: its components, and the repository it builds (when known)."""

    def __init__(self, job: JobPayload, payload: JenkinsPayload) -> None:
        self.job = job
        self.components: dict[str, str] = {}
        self.repository: str | None = None
        full = job.full_name.lower()
        for value, refs in payload.by_job.items():
            if _job_annotation_key(value) == full:
                self.components.update((r.lower(), r) for r in refs)
        first: str | None = None
        for remote in remotes_of(job):
            path = remote_path(remote)
            if path is None:
                continue
            first = first or path
            for candidate in _suffixes(path):
                linked = payload.by_slug.get(candidate)
                if linked:
                    self.components.update((r.lower(), r) for r in linked)
                    self.repository = self.repository or candidate
        self.repository = self.repository or first


def transform_jenkins(payload: JenkinsPayload, *, builds_per_pipeline: int = 20) -> Snapshot:
    """Every Pipeline and Build of the jobs read, with the failures :mod:`.get` met."""
    snapshot = Snapshot(source_type=SOURCE_TYPE)
    links = [_Link(job, payload) for job in payload.jobs]
    names = _pipeline_names(links)
    for link in links:
        _transform_job(snapshot, link, names[link.job.full_name], builds_per_pipeline)
    for scope, reason in sorted(payload.failed.items()):
        snapshot.keep_files.add(scope)
        snapshot.errors.append(
            RunError(f"could not be read: {reason}; the entities under it were kept", scope)
        )
    snapshot.skipped.extend(payload.skipped)
    snapshot.warnings.extend(payload.warnings)
    snapshot.events = [EventRetention("build", ("pipeline",), "startedAt", builds_per_pipeline)]
    return snapshot


def _pipeline_names(links: list[_Link]) -> dict[str, str]:
    """Job full name -> pipeline name; one job per repository gets the repository's name."""
    names = {link.job.full_name: jenkins_pipeline_name(link.job.full_name) for link in links}
    claims: dict[str, list[_Link]] = {}
    for link in links:
        if link.repository:
            claims.setdefault(pipeline_name(link.repository, "jenkins").lower(), []).append(link)
    for claimants in claims.values():
        winner = min(claimants, key=lambda c: (not c.job.multibranch, c.job.full_name))
        assert winner.repository is not None
        names[winner.job.full_name] = pipeline_name(winner.repository, "jenkins")
    return names


def _add(snapshot: Snapshot, raw: Json, location: SourceLocation, *, defer: bool = False) -> bool:
    return snapshot.add(raw, location, defer=defer) is not None


def _transform_job(snapshot: Snapshot, link: _Link, name: str, builds_per_pipeline: int) -> None:
    job = link.job
    full = job.full_name
    namespace = shared_namespace(link.components.values())
    annotations = {JENKINS_JOB_ANNOTATION: full, SOURCE_PATH_ANNOTATION: scope_of(full)}
    location = SourceLocation(f"jenkins:{full}")
    description = job.job.get("description")
    kind = "multibranch project" if job.multibranch else "job"
    summary = f"Jenkins {kind} {full}"
    if job.multibranch:
        branches = job.job.get("branches") or []
        summary += f" ({len(branches)} branches)"
    if isinstance(description, str) and description.strip():
        summary += f": {description.strip()}"
    spec: Json = {"type": "jenkins", "components": sorted(link.components.values())}
    if link.repository:
        spec["repository"] = link.repository
    if isinstance(job.job.get("url"), str):
        spec["url"] = job.job["url"]
    pipeline: Json = {
        "apiVersion": API_VERSION,
        "kind": "Pipeline",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "title": str(job.job.get("displayName") or full),
            "description": summary,
            "annotations": annotations,
        },
        "spec": spec,
    }
    if not _add(snapshot, pipeline, location, defer=True):
        return
    pipeline_ref = f"pipeline:{namespace}/{name}"
    for build in job.builds[:builds_per_pipeline]:
        raw = _build_entity(build, job, name, namespace, pipeline_ref, annotations)
        if raw is not None:
            _add(snapshot, raw, location)


def _build_entity(
    build: Json,
    job: JobPayload,
    pipeline: str,
    namespace: str,
    pipeline_ref: str,
    annotations: dict[str, str],
) -> Json | None:
    number = build.get("number")
    if not isinstance(number, int):
        return None
    commit, revision_branch = _revision(build)
    branch = build.get("branch") if job.multibranch else revision_branch
    building = build.get("building") is True
    result = build.get("result")
    status = "in_progress" if building else ("completed" if result else "queued")
    duration = build.get("duration")
    spec: Json = {
        "pipeline": pipeline_ref,
        "status": status,
        "conclusion": str(result).lower() if result and not building else None,
        "number": number,
        "branch": branch if isinstance(branch, str) and branch else None,
        "commit": commit,
        "startedAt": iso_from_millis(build.get("timestamp")),
        "durationSeconds": duration / 1000
        if isinstance(duration, int | float) and duration > 0 and not building
        else None,
        "url": build.get("url"),
    }
    suffix = f"{branch}-{number}" if job.multibranch and branch else str(number)
    title = f"{job.full_name} #{number}"
    if job.multibranch and branch:
        title = f"{job.full_name} {branch} #{number}"
    return {
        "apiVersion": API_VERSION,
        "kind": "Build",
        "metadata": {
            "name": build_name(pipeline, suffix),
            "namespace": namespace,
            "title": title,
            "annotations": annotations,
        },
        "spec": {k: v for k, v in spec.items() if v is not None},
    }
