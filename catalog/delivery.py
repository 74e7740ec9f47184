"""How the kinds sources add are named and shaped, so every source agrees on one ref.

The Git source (CI files), the GitHub, GitLab and Jenkins sources and the AWS source all
build their entities through these helpers. Two sources describing the same pipeline (a
workflow file read from Git, and the same workflow seen through the GitHub API) therefore
produce the same ref, and the second enriches the first instead of duplicating it.

Naming rules every source follows:

- A repository is known by its full slug, the path of its URL without the host, lowercased
  (:func:`repo_slug`: ``acme/payments``, ``acme/a/payments``), so two repositories of one
  name in different organisations or subgroups never share a pipeline. A local path or
  ``file://`` URL has no host, hence no slug: its last path segment stands in.
- Pipelines, builds and deployments are in the namespace their components share, else
  ``default`` (:func:`shared_namespace`).
- Environments are shared by every repository and source: always in namespace ``default``
  (:data:`ENVIRONMENT_NAMESPACE`, :func:`environment_ref`).

Shapes (apiVersion ``stagegraph.dev/v1alpha1``; specs checked by :mod:`catalog.kinds`):

- ``Pipeline``: ``spec.type`` (``github-actions``, ``gitlab-ci``, ``jenkins``),
  ``spec.components`` (each Component is ``builtBy`` the pipeline), ``repository``,
  ``path``, ``url``, optional ``owner``/``system``. Named :func:`pipeline_name`
  (``acme-payments-ci`` for ``acme/payments``'s ``.github/workflows/ci.yml``).
- ``Build``: ``spec.pipeline`` (``runOf``), ``status``, ``conclusion``, ``number``,
  ``branch``, ``commit``, ``startedAt`` (ISO 8601 UTC), ``durationSeconds``, ``url``.
  Named :func:`build_name` (``acme-payments-ci-412``). Builds are events: a source keeps the last N per pipeline.
- ``Environment``: ``spec.type``, ``spec.components`` (each Component is ``deployedTo``
  it), ``url``, optional ``owner``. Named :func:`environment_name`, in namespace
  ``default``: one environment of a name, shared by every repository deploying to it.
- ``Deployment``: ``spec.component`` (``deploys``), ``spec.environment`` (``deployedTo``),
  ``status``, ``commit``, ``ref``, ``createdAt``, ``creator``, ``url``. Named
  :func:`deployment_name` (``acme-payments-production-1001``). Events too: the last N per environment and component are kept.
- ``CloudAccount``: ``spec.provider``, ``spec.accountId``, optional ``alias``/``owner``.
- Cloud resources are ``Resource`` entities with ``spec.account`` (``partOf`` the account)
  and ``spec.environment`` (``deployedTo``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from catalog.refs import is_valid_name, parse_ref

API_VERSION = "stagegraph.dev/v1alpha1"
MAX_NAME = 63
PROJECT_SLUG_ANNOTATION = "github.com/project-slug"
GITLAB_SLUG_ANNOTATION = "gitlab.com/project-slug"
JENKINS_JOB_ANNOTATION = "jenkins.io/job-full-name"
ENVIRONMENT_NAMESPACE = "default"
"""The namespace of every ``Environment``: environments are shared across repositories."""

_INVALID = re.compile(r"[^A-Za-z0-9._-]+")
_EDGES = re.compile(r"^[._-]+|[._-]+$")
_RUNS = re.compile(r"([._-])[._-]+")
_SCP = re.compile(r"^[\w.+-]+@[\w.-]+:(?!//)(.*)$")


def sanitize_name(text: str) -> str:
    """A valid entity name for ``text``: readable, stable, unique per input.

    Characters outside ``[A-Za-z0-9._-]`` become ``-``, separators are squeezed and trimmed;
    a name past 63 characters (or one that had to change beyond that) keeps its start and
    gets an 8-character hash of the whole input, so two long inputs never collide.
    """
    cleaned = _RUNS.sub(r"\1", _EDGES.sub("", _INVALID.sub("-", text)))
    if cleaned and len(cleaned) <= MAX_NAME and is_valid_name(cleaned):
        return cleaned
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    head = _EDGES.sub("", cleaned[: MAX_NAME - 9]) or "x"
    return f"{head}-{digest}"


def _last_segment(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1].lower().removesuffix(".git")


def _slug_of_path(path: str) -> str:
    return path.lower().strip("/").removesuffix(".git").strip("/")


def source_slug(url: str) -> str:
    """The slug of a git source's URL or path: the path without host for a remote URL
    (``https://github.com/acme/payments.git``, ``git@github.com:acme/payments.git``,
    ``ssh://git@host/acme/payments.git`` -> ``acme/payments``); the last segment for a local
    path or ``file://`` URL (``/srv/git/payments.git`` -> ``payments``: no host, no slug)."""
    text = url.strip()
    scp = _SCP.match(text)
    if scp:
        return _slug_of_path(scp.group(1)) or _last_segment(text)
    if "://" in text:
        scheme, rest = text.split("://", 1)
        if scheme.lower() != "file" and "/" in rest.strip("/"):
            return _slug_of_path(rest.split("/", 1)[1]) or _last_segment(text)
    return _last_segment(text.rstrip("/"))


def repo_slug(slug_or_url: str) -> str:
    """A repository's full slug, lowercased: ``acme/payments`` and ``Acme/a/Payments`` as they
    are (lowercased); URLs and paths (``/srv/git/payments``, ``./payments``) as
    :func:`source_slug` reads them."""
    text = slug_or_url.strip()
    if "://" in text or _SCP.match(text) or text.startswith(("/", ".", "~")):
        return source_slug(text)
    return _slug_of_path(text)


def repo_name(slug_or_url: str) -> str:
    """The last segment of a repository's slug or URL, lowercased: ``acme/payments`` ->
    ``payments``."""
    return _last_segment(repo_slug(slug_or_url))


def shared_namespace(refs: Iterable[str]) -> str:
    """The namespace of a repository's pipelines, builds and deployments: the one all its
    component ``refs`` share, else ``default``."""
    namespaces = {parse_ref(ref, default_kind="component").namespace.lower() for ref in refs if ref}
    return namespaces.pop() if len(namespaces) == 1 else "default"


def _stem(path: str) -> str:
    name = path.rstrip("/").rsplit("/", 1)[-1]
    for suffix in (".yaml", ".yml"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def pipeline_name(repo: str, ci: str, path: str | None = None) -> str:
    """The one name of a repository's pipeline, whichever source saw it.

    ``repo`` is the repository's slug or URL, named by its full slug (:func:`repo_slug`), so
    ``acme/a/payments`` and ``acme/b/payments`` never share a name. ``ci`` is the pipeline
    type: ``github-actions`` (``path`` is the workflow file, e.g. ``.github/workflows/ci.yml``
    -> ``acme-payments-ci``), ``gitlab-ci`` (``acme-payments-gitlab-ci``) or ``jenkins``
    (``acme-payments-jenkins``; a Jenkins job with no known repository uses
    :func:`jenkins_pipeline_name` instead). Past 63 characters the name keeps its start and
    gets a hash of the whole (:func:`sanitize_name`).
    """
    repo = repo_slug(repo)
    if ci == "github-actions":
        if not path:
            raise ValueError("a github-actions pipeline needs its workflow path")
        return sanitize_name(f"{repo}-{_stem(path)}")
    if ci == "gitlab-ci":
        return sanitize_name(f"{repo}-gitlab-ci")
    if ci == "jenkins":
        return sanitize_name(f"{repo}-jenkins")
    return sanitize_name(f"{repo}-{ci}")


def jenkins_pipeline_name(job_full_name: str) -> str:
    """A Jenkins job not linked to a repository: ``team/payments/main`` -> ``jenkins-team-payments-main``."""
    return sanitize_name(f"jenkins-{job_full_name}")


def build_name(pipeline: str, number: int | str) -> str:
    """Build ``number`` of pipeline ``pipeline`` (a pipeline name): ``acme-payments-ci-412``."""
    return sanitize_name(f"{pipeline}-{number}")


def environment_name(name: str) -> str:
    """``Production`` -> ``production``: environments are shared across repositories."""
    return sanitize_name(name.strip().lower())


def environment_ref(name: str) -> str:
    """``Production`` -> ``environment:default/production``, the one ref of an environment."""
    return f"environment:{ENVIRONMENT_NAMESPACE}/{environment_name(name)}"


def deployment_name(repo: str, environment: str, deployment_id: int | str) -> str:
    """A deployment of ``repo`` (slug or URL) to ``environment``:
    ``acme-payments-production-1001``."""
    return sanitize_name(f"{repo_slug(repo)}-{environment_name(environment)}-{deployment_id}")


def iso_utc(value: Any) -> str | None:
    """A CI API's timestamp as the ISO 8601 UTC text builds and deployments carry:
    ``2024-05-01T10:00:00.123+02:00`` -> ``2024-05-01T08:00:00Z``; no offset means UTC;
    None when it is not a time."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
