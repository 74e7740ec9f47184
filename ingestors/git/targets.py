"""What a registered location's ``target`` reads as a git source, and the web form of a
repository on GitHub or GitLab. Pure.

A target is either a repository URL, read whole like a ``type: git`` source:

- ``https://host/org/repo(.git)``, ``http://…``, ``ssh://[user@]host/org/repo``,
  ``git@host:org/repo.git``, ``file:///path/to/repo``;

or a GitHub or GitLab web URL of a descriptor file or folder (Backstage's usual form), read
as that repository at that ref, limited to that path:

- ``https://github.com/org/repo/blob/main/catalog-info.yaml`` -> ``https://github.com/org/repo``,
  ref ``main``, path ``catalog-info.yaml`` (``/tree/main/services`` names a folder);
- ``https://gitlab.com/group/sub/repo/-/blob/main/catalog-info.yaml`` (``/-/tree/…``).

Any other host (and ``file://``) names a file or folder the same way after a repository path
ending in ``.git`` (what the scaffolder's ``publish:git`` gives as ``repoContentsUrl``):
``file:///srv/git/shop.git/blob/main/catalog-info.yaml`` -> ``file:///srv/git/shop.git``,
ref ``main``, path ``catalog-info.yaml``.

The ref is the path segment after ``blob``/``tree``: a branch whose name holds a ``/`` is
read as that branch's first segment (Backstage reads such URLs the same way).

A host is GitHub when its name contains ``github``, GitLab when it contains ``gitlab``
(``github.com``, ``github.acme.example``, ``gitlab.com``, ``gitlab.acme.example``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from ingestors.errors import IngestError

_SCP = re.compile(r"^(?:[\w.-]+@)?(?P<host>[\w.-]+):(?P<path>[^/].*)$")
_SCHEMES = ("https", "http", "ssh", "file")


class InvalidTargetError(IngestError):
    """A location target that names no git repository."""

    def __init__(self, target: str, reason: str) -> None:
        self.target = target
        super().__init__(
            f"location target {target!r} {reason}; give a git repository URL (https://, "
            "http://, ssh://, git@host:org/repo.git, file://) or a GitHub/GitLab URL of a "
            "descriptor file or folder (https://github.com/org/repo/blob/main/catalog-info.yaml)"
        )


@dataclass(frozen=True)
class GitTarget:
    """A repository to read: ``url`` at ``ref`` (None: its default branch), limited to
    ``paths`` (empty: every catalog-info.yaml)."""

    url: str
    ref: str | None = None
    paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class WebRepo:
    """A repository on GitHub or GitLab: its web address (``https://github.com/org/repo``)."""

    host: Literal["github", "gitlab"]
    base: str

    @property
    def _sep(self) -> str:
        return "/-/" if self.host == "gitlab" else "/"

    def blob(self, ref: str, path: str) -> str:
        return f"{self.base}{self._sep}blob/{ref}/{path}"

    def tree(self, ref: str, folder: str) -> str:
        folder = folder.strip("/")
        return f"{self.base}{self._sep}tree/{ref}/{folder}{'/' if folder else ''}"

    def edit(self, ref: str, path: str) -> str:
        return f"{self.base}{self._sep}edit/{ref}/{path}"


def _host_kind(host: str) -> Literal["github", "gitlab"] | None:
    host = host.lower()
    if "github" in host:
        return "github"
    if "gitlab" in host:
        return "gitlab"
    return None


def web_repo(url: str) -> WebRepo | None:
    """The web form of a GitHub or GitLab repository URL (https, http, ssh or scp-like
    ``git@host:org/repo.git``); None for other hosts, local paths and ``file://``."""
    scp = _SCP.match(url) if "://" not in url else None
    if scp is not None:
        host, path = scp["host"], scp["path"]
    else:
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http", "ssh") or not parts.hostname:
            return None
        host, path = parts.hostname, parts.path
    kind = _host_kind(host)
    path = path.strip("/").removesuffix(".git")
    if kind is None or path.count("/") < 1:
        return None
    return WebRepo(kind, f"https://{host}/{path}")


def repository_key(url: str) -> str:
    """``url`` as repositories compare: a GitHub/GitLab repository by its web address,
    lowercase (its https, ssh and ``git@host:`` spellings are one repository); anything else
    without ``file://``, ``.git`` and trailing slashes."""
    web = web_repo(url)
    if web is not None:
        return web.base.lower()
    text = url.strip().removeprefix("file://").rstrip("/")
    return text.removesuffix(".git").rstrip("/")


def parse_target(target: str) -> GitTarget:
    """The git source ``target`` names (see the module docstring); raises
    :class:`InvalidTargetError` when it names none."""
    text = target.strip()
    if not text:
        raise InvalidTargetError(target, "is empty")
    if "://" not in text:
        if _SCP.match(text):
            return GitTarget(text)
        raise InvalidTargetError(target, "is not a URL")
    parts = urlsplit(text)
    if parts.scheme not in _SCHEMES:
        raise InvalidTargetError(target, f"has the scheme {parts.scheme!r}")
    if parts.scheme == "file":
        if parts.path.strip("/") == "":
            raise InvalidTargetError(target, "names no folder")
        return _dot_git_target(text) or GitTarget(text)
    if not parts.hostname:
        raise InvalidTargetError(target, "names no host")
    if parts.query or parts.fragment:
        raise InvalidTargetError(target, "has a query or fragment")
    segments = [s for s in parts.path.split("/") if s]
    if not segments:
        raise InvalidTargetError(target, "names no repository path")
    kind = _host_kind(parts.hostname) if parts.scheme in ("https", "http") else None
    split = _web_split(kind, segments) if kind is not None else None
    if split is None:
        return _dot_git_target(text) or GitTarget(text)
    repo, rest = split
    if len(repo) < 2:
        raise InvalidTargetError(target, "names no org/repository before blob/tree")
    if not rest:
        raise InvalidTargetError(target, "names no ref after blob/tree")
    path = "/".join(rest[1:])
    url = f"{parts.scheme}://{parts.netloc}/{'/'.join(repo)}"
    return GitTarget(url, rest[0], (path,) if path else ())


def _web_split(
    kind: Literal["github", "gitlab"], segments: list[str]
) -> tuple[list[str], list[str]] | None:
    """The repository's segments and those after ``blob``/``tree`` (GitHub) or
    ``-/blob``/``-/tree`` (GitLab); None when the path has neither."""
    for i, segment in enumerate(segments):
        if kind == "github" and segment in ("blob", "tree"):
            return segments[:i], segments[i + 1 :]
        if kind == "gitlab" and segment == "-" and segments[i + 1 : i + 2] in (["blob"], ["tree"]):
            return segments[:i], segments[i + 2 :]
    return None


_DOT_GIT = re.compile(r"^(?P<repo>.+?\.git)/(?:blob|tree)/(?P<ref>[^/]+)(?:/(?P<path>.*))?$")


def _dot_git_target(text: str) -> GitTarget | None:
    """``<repository>.git/blob|tree/REF[/PATH]`` on any host; None for other URLs."""
    found = _DOT_GIT.match(text)
    if found is None:
        return None
    path = (found["path"] or "").strip("/")
    return GitTarget(found["repo"], found["ref"], (path,) if path else ())
