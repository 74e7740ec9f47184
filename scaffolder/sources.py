"""Where ``fetch:*`` reads files from: a URL relative to the template's location, or a git
URL, brought into a local folder.

- Relative (``./content``): joined to the folder of the template's
  ``backstage.io/managed-by-location``: ``file:/dir/template.yaml`` (a local folder),
  ``git:REPO@COMMIT:dir/template.yaml`` (as the git source writes it: that commit is
  fetched) or ``url:URL`` (a git URL as below).
- A git URL: ``https://host/owner/repo/tree/REF/PATH`` (also ``blob``, and GitLab's
  ``-/tree``), or a plain repository URL (``https://...``, ``file:///...``) for its
  default branch's root.
"""

from __future__ import annotations

import posixpath
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from scaffolder.errors import ActionError
from scaffolder.git import clone

_GIT_LOCATION = re.compile(r"^git:(?P<repo>.+)@(?P<commit>[0-9a-fA-F]{7,64}):(?P<path>.*)$")
_TREE = re.compile(r"^(?P<repo>.+?)/(?:-/)?(?:tree|blob)/(?P<ref>[^/]+)(?:/(?P<path>.*))?$")


@dataclass(frozen=True)
class GitPlace:
    """A folder (or file) inside a git repository at a ref."""

    repo: str
    ref: str | None
    path: str


def parse_git_url(url: str) -> GitPlace:
    """``.../tree/REF/PATH`` or a plain repository URL -> :class:`GitPlace`."""
    found = _TREE.match(url)
    if found:
        return GitPlace(found["repo"], found["ref"], (found["path"] or "").strip("/"))
    return GitPlace(url, None, "")


def _location_place(location: str | None, relative: str) -> GitPlace | Path:
    if not location:
        raise ActionError(
            f"the URL {relative!r} is relative, but the template has no "
            "backstage.io/managed-by-location to start from; give an absolute git URL"
        )
    if location.startswith("file:"):
        folder = Path(location.removeprefix("file:").removeprefix("//")).parent
        return (folder / relative).resolve()
    git = _GIT_LOCATION.match(location)
    if git:
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(git["path"]), relative))
        return GitPlace(git["repo"], git["commit"], "" if joined == "." else joined)
    if location.startswith("url:"):
        place = parse_git_url(location.removeprefix("url:"))
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(place.path), relative))
        return GitPlace(place.repo, place.ref, "" if joined == "." else joined)
    raise ActionError(f"cannot read files relative to the template location {location!r}")


async def fetch_folder(
    url: str, location: str | None, scratch: Path, env: Mapping[str, str] | None = None
) -> Path:
    """A local folder holding what ``url`` names (cloned into ``scratch`` when remote)."""
    if not isinstance(url, str) or not url:
        raise ActionError(
            "the input url is required: a path relative to the template, or a git URL"
        )
    is_absolute = "://" in url or url.startswith("git@")
    place = parse_git_url(url) if is_absolute else _location_place(location, url)
    if isinstance(place, Path):
        if not place.is_dir():
            raise ActionError(f"the template's folder {url!r} does not exist ({place})")
        return place
    if place.path.startswith(".."):
        raise ActionError(f"the URL {url!r} leaves the template's repository")
    target = scratch / f"source-{uuid.uuid4().hex[:8]}"
    await clone(place.repo, place.ref, target, env)
    folder = target / place.path if place.path else target
    if not folder.is_dir() or folder.is_symlink():
        raise ActionError(f"{url!r} names no folder in {place.repo} at {place.ref or 'HEAD'}")
    return folder
