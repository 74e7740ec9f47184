"""Which configured source reads a Backstage location: the source whose ``rules`` apply to an
entity found there (``POST /api/catalog/validate-entity`` checks a kind against them). Pure.

A location is written ``type:target``, as Backstage and the ``backstage.io/managed-by-location``
annotations write it:

- ``url:<target>``: a repository URL or a GitHub/GitLab blob or tree URL
  (:func:`ingestors.git.targets.parse_target` says which repository it names);
- ``git:<repo>@<commit>:<path>``: a file of a repository that is not on GitHub or GitLab, as
  the git source annotates it;
- ``file:<path>``: a file of a plain folder (a git source whose ``url`` is a local path).

Each source type says whether it reads that repository (:meth:`SourceConfig.reads_repository`:
``git`` by its ``url``, ``location`` by its ``target``, ``github`` by host, ``org`` and
``repos``, ``gitlab`` by host and group); repositories compare by
:func:`ingestors.git.targets.repository_key`, so the https, ssh and ``git@host:`` spellings
of one GitHub or GitLab repository are one. The first matching source, in config order, is
the one. Sources that read no repository (AWS, Jenkins) match nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ingestors.contract import SourceConfig
from ingestors.git.targets import InvalidTargetError, parse_target, repository_key

_GIT_FILE = re.compile(r"^(?P<repo>.+)@(?P<commit>[0-9a-fA-F]{7,64}):(?P<path>.*)$")


def named_repository(location: str) -> str | None:
    """The repository (a :func:`repository_key`) or, for ``file:``, the file path a
    location names; None when it names none."""
    type_, _, target = location.strip().partition(":")
    if type_ == "url":
        try:
            return repository_key(parse_target(target).url)
        except InvalidTargetError:
            return None
    if type_ == "git":
        found = _GIT_FILE.match(target)
        return repository_key(found["repo"]) if found else None
    if type_ == "file" and target.startswith("/"):
        return target.rstrip("/")
    return None


def source_reading(location: str, sources: Sequence[SourceConfig]) -> SourceConfig | None:
    """The first of ``sources`` that reads ``location``; None when none does or the
    location names no repository."""
    repository = named_repository(location)
    if repository is None:
        return None
    return next((s for s in sources if s.reads_repository(repository)), None)
