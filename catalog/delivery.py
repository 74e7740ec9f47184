"""How the kinds sources add are named and shaped, so every source agrees on one ref.

The Git source (CI files), the GitHub, GitLab and Jenkins sources and the AWS source all
build their entities through these helpers. Two sources describing the same pipeline (a
workflow file read from Git, and the same workflow seen through the GitHub API) therefore
produce the same ref, and the second enriches the first instead of duplicating it.

Shapes (apiVersion ``stagegraph.dev/v1alpha1``; specs checked by :mod:`catalog.kinds`):

- ``Pipeline``: ``spec.type`` (``github-actions``, ``gitlab-ci``, ``jenkins``),
  ``spec.components`` (each Component is ``builtBy`` the pipeline), ``repository``,
  ``path``, ``url``, optional ``owner``/``system``. Named :func:`pipeline_name`.
- ``Build``: ``spec.pipeline`` (``runOf``), ``status``, ``conclusion``, ``number``,
  ``branch``, ``commit``, ``startedAt`` (ISO 8601 UTC), ``durationSeconds``, ``url``.
  Named :func:`build_name`. Builds are events: a source keeps the last N per pipeline.
- ``Environment``: ``spec.type``, ``spec.components`` (each Component is ``deployedTo``
  it), ``url``, optional ``owner``. Named :func:`environment_name`; one environment of a
  name per namespace, shared by every repository deploying to it.
- ``Deployment``: ``spec.component`` (``deploys``), ``spec.environment`` (``deployedTo``),
  ``status``, ``commit``, ``ref``, ``createdAt``, ``creator``, ``url``. Named
  :func:`deployment_name`. Events too: the last N per environment and component are kept.
- ``CloudAccount``: ``spec.provider``, ``spec.accountId``, optional ``alias``/``owner``.
- Cloud resources are ``Resource`` entities with ``spec.account`` (``partOf`` the account)
  and ``spec.environment`` (``deployedTo``).
"""

from __future__ import annotations

import hashlib
import re

from catalog.refs import is_valid_name

API_VERSION = "stagegraph.dev/v1alpha1"
MAX_NAME = 63
PROJECT_SLUG_ANNOTATION = "github.com/project-slug"
GITLAB_SLUG_ANNOTATION = "gitlab.com/project-slug"
JENKINS_JOB_ANNOTATION = "jenkins.io/job-full-name"

_INVALID = re.compile(r"[^A-Za-z0-9._-]+")
_EDGES = re.compile(r"^[._-]+|[._-]+$")
_RUNS = re.compile(r"([._-])[._-]+")


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


def repo_name(slug_or_url: str) -> str:
    """``acme/payments`` or ``https://github.com/acme/payments.git`` -> ``payments``."""
    tail = slug_or_url.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    return tail.removesuffix(".git")


def _stem(path: str) -> str:
    name = path.rstrip("/").rsplit("/", 1)[-1]
    for suffix in (".yaml", ".yml"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def pipeline_name(repo: str, ci: str, path: str | None = None) -> str:
    """The one name of a repository's pipeline, whichever source saw it.

    ``ci`` is the pipeline type: ``github-actions`` (``path`` is the workflow file, e.g.
    ``.github/workflows/ci.yml`` -> ``payments-ci``), ``gitlab-ci`` (``payments-gitlab-ci``)
    or ``jenkins`` (``payments-jenkins``; a Jenkins job with no known repository uses
    :func:`jenkins_pipeline_name` instead).
    """
    repo = repo_name(repo)
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
    """Build ``number`` of pipeline ``pipeline`` (a pipeline name): ``payments-ci-412``."""
    return sanitize_name(f"{pipeline}-{number}")


def environment_name(name: str) -> str:
    """``Production`` -> ``production``: environments are shared across repositories."""
    return sanitize_name(name.strip().lower())


def deployment_name(repo: str, environment: str, deployment_id: int | str) -> str:
    """A deployment of ``repo`` to ``environment``: ``payments-production-1001``."""
    return sanitize_name(f"{repo_name(repo)}-{environment_name(environment)}-{deployment_id}")
