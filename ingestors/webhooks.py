"""What a webhook delivery asks of the configured sources: pure functions from the sender's
event and payload to :class:`Target` (a source and the scope to re-read), and the signature
checks. The HTTP side is :mod:`api.webhooks`; the work is done by :mod:`ingestors.inbox`.

GitHub (``X-GitHub-Event``), for the ``github`` sources of the repository's organisation:

- ``push`` to the repository's default branch: that repository (``github:ORG/REPO``);
  other branches are ignored;
- ``repository`` (created, deleted, renamed, archived, unarchived, transferred, edited,
  publicized, privatized): that repository, and its old name when it was renamed; a
  scoped read of a repository that is gone deletes its entities (under the guard);
- ``workflow_run``, ``deployment``, ``deployment_status``: the Build or Deployment the
  payload describes is written from it directly (``direct``: the delivery keeps its body;
  :mod:`ingestors.github.events`), with no API call; its scope is the repository;
- ``membership``, ``team``, ``organization``: the organisation's teams (``github:ORG/teams``);
- and, for ``git`` sources whose ``url`` is the repository, a push to their ``ref`` (or the
  default branch): the whole source.

GitLab (``X-Gitlab-Event``): ``Push Hook`` (default branch or the source's ``branch``) and
project events (``System Hook`` with ``project_create/destroy/rename/transfer/update``)
re-read the project (``gitlab/PATH``) in the ``gitlab`` sources whose group holds it;
``Pipeline Hook`` and ``Deployment Hook`` write their Build or Deployment directly
(``direct``; :mod:`ingestors.gitlab.events`), scoped to the project.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ingestors.contract import Scope, SourceConfig

SIGNATURE_PREFIX = "sha256="
GITHUB_DIRECT_EVENTS = frozenset({"workflow_run", "deployment", "deployment_status"})
GITHUB_TEAM_EVENTS = frozenset({"membership", "team", "organization"})
GITLAB_PROJECT_EVENTS = frozenset(
    {"project_create", "project_destroy", "project_rename", "project_transfer", "project_update"}
)


@dataclass(frozen=True)
class Target:
    """A source a delivery concerns and what of it to read again (empty: all of it);
    ``direct``: its entities are made from the payload instead (the body is kept)."""

    source: str
    scope: Scope
    event: str
    direct: bool = False


def sign(secret: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of the body>``, as GitHub signs a delivery."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def signed_by(source: SourceConfig, body: bytes, signature: str) -> bool:
    """Whether ``signature`` (an ``X-Hub-Signature-256`` value) is the body signed with the
    source's webhook secret; compared in constant time."""
    if source.webhook is None:
        return False
    expected = sign(source.webhook.secret.get_secret_value(), body)
    return hmac.compare_digest(expected.encode(), signature.strip().encode())


def token_of(source: SourceConfig, token: str) -> bool:
    """Whether ``token`` (an ``X-Gitlab-Token`` value) is the source's webhook secret."""
    if source.webhook is None:
        return False
    return hmac.compare_digest(source.webhook.secret.get_secret_value().encode(), token.encode())


def _text(data: Any, *path: str) -> str | None:
    for key in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data if isinstance(data, str) and data else None


def _normal_url(url: str) -> str:
    """A repository URL without scheme, credentials, ``.git`` or case: ``github.com/acme/pay``."""
    text = url.strip().lower().removesuffix("/").removesuffix(".git")
    text = re.sub(r"^[a-z+]+://", "", text)
    text = re.sub(r"^[^@/]+@", "", text)
    return text.replace(":", "/", 1) if "/" not in text.split(":", 1)[0] and ":" in text else text


def github_orgs(payload: Any) -> set[str]:
    """The organisations (lowercased logins) a GitHub delivery concerns."""
    found = {
        _text(payload, "repository", "owner", "login"),
        _text(payload, "organization", "login"),
        _text(payload, "changes", "owner", "from", "organization", "login"),
        _text(payload, "changes", "owner", "from", "user", "login"),
    }
    return {org.lower() for org in found if org}


def _repository_urls(payload: Any) -> set[str]:
    repo = payload.get("repository") if isinstance(payload, Mapping) else None
    keys = ("clone_url", "ssh_url", "git_url", "html_url", "url", "git_http_url", "git_ssh_url")
    return {_normal_url(v) for k in keys if (v := _text(repo, k))}


def github_candidates(sources: Iterable[SourceConfig], payload: Any) -> list[SourceConfig]:
    """The sources with a webhook that a GitHub delivery may concern: ``github`` sources of
    its organisation, ``git`` sources of its repository."""
    orgs = github_orgs(payload)
    urls = _repository_urls(payload)
    found = []
    for source in sources:
        if source.webhook is None:
            continue
        org = getattr(source, "org", None)
        url = getattr(source, "url", None)
        of_org = source.type == "github" and isinstance(org, str) and org.lower() in orgs
        of_repo = source.type == "git" and isinstance(url, str) and _normal_url(url) in urls
        if of_org or of_repo:
            found.append(source)
    return found


def github_targets(
    sources: Sequence[SourceConfig], event: str, payload: Any
) -> tuple[list[Target], str]:
    """What a GitHub delivery asks of ``sources`` (already checked to be signed by them),
    and, when nothing, why (for the answer)."""
    action = _text(payload, "action")
    name = f"{event}.{action}" if action else event
    repo = _text(payload, "repository", "name")
    branch = _text(payload, "repository", "default_branch")
    ref = _text(payload, "ref")
    targets: list[Target] = []
    for source in sources:
        if source.type == "git":
            wanted = getattr(source, "ref", None) or branch
            if event == "push" and ref in (f"refs/heads/{wanted}", wanted):
                targets.append(Target(source.name, (), name))
            continue
        org = str(getattr(source, "org", ""))
        if event in GITHUB_TEAM_EVENTS:
            targets.append(Target(source.name, (f"github:{org}/teams",), name))
            continue
        if repo is None:
            continue
        if event == "push" and ref != f"refs/heads/{branch}":
            continue
        if event == "repository":
            old = _text(payload, "changes", "repository", "name", "from")
            parts = tuple(dict.fromkeys(f"github:{org}/{n}" for n in (old, repo) if n))
            targets.append(Target(source.name, parts, name))
        elif event == "push":
            targets.append(Target(source.name, (f"github:{org}/{repo}",), name))
        elif event in GITHUB_DIRECT_EVENTS:
            targets.append(Target(source.name, (f"github:{org}/{repo}",), name, direct=True))
    if targets:
        return targets, ""
    if event == "push":
        return [], f"a push to {ref}, not to the default branch ({branch}): nothing to read"
    return [], f"event {name!r} is not one Stagegraph reads again; nothing to do"


def gitlab_project(payload: Any) -> str | None:
    """The project path (``acme/platform/payments``) a GitLab delivery concerns."""
    return _text(payload, "project", "path_with_namespace") or _text(payload, "path_with_namespace")


def gitlab_candidates(sources: Iterable[SourceConfig], payload: Any) -> list[SourceConfig]:
    """The ``gitlab`` sources with a webhook whose group holds the delivery's project (or,
    for a renamed or moved project, held it)."""
    paths = {
        p.lower() for p in (gitlab_project(payload), _text(payload, "old_path_with_namespace")) if p
    }
    found = []
    for source in sources:
        group = getattr(source, "group", None)
        if source.type != "gitlab" or source.webhook is None or not isinstance(group, str):
            continue
        if any(p.startswith(f"{group.lower()}/") for p in paths):
            found.append(source)
    return found


def gitlab_targets(
    sources: Sequence[SourceConfig], event: str, payload: Any
) -> tuple[list[Target], str]:
    """What a GitLab delivery asks of ``sources`` (already checked), and, when nothing, why."""
    kind = _text(payload, "object_kind") or _text(payload, "event_name") or event
    path = gitlab_project(payload)
    old = _text(payload, "old_path_with_namespace")
    targets: list[Target] = []
    for source in sources:
        if kind == "push":
            branch = getattr(source, "branch", None) or _text(payload, "project", "default_branch")
            if _text(payload, "ref") != f"refs/heads/{branch}":
                continue
        elif kind not in ("pipeline", "deployment") and kind not in GITLAB_PROJECT_EVENTS:
            continue
        parts = tuple(dict.fromkeys(f"gitlab/{p}" for p in (old, path) if p))
        if parts:
            direct = kind in ("pipeline", "deployment")
            targets.append(Target(source.name, parts, kind, direct=direct))
    if targets:
        return targets, ""
    return [], f"event {kind!r} (on {path}) asks nothing Stagegraph reads again"
