"""Where ``Location`` entities point: their targets as paths inside the source, and the files
a set of files reaches through the Locations they hold.

A target is relative to the file that holds the Location (``./org/teams.yaml``); a target
that is remote (``https://...``), absolute or climbs out of the source with ``..`` points at
nothing inside it. A target may be a glob (``./services/*/catalog-info.yaml``).

Pure: callers pass what they know about the files (which Location targets each holds).
"""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Iterable, Mapping
from typing import Any

_GLOB = frozenset("*?[")


def inside(path: str) -> str | None:
    """Normalize a source-relative POSIX path; None when it leaves the source (an absolute
    path, or ``..`` above the root)."""
    if path.startswith("/"):
        return None
    normal = posixpath.normpath(path)
    if normal == ".." or normal.startswith("../"):
        return None
    return "" if normal == "." else normal


def raw_targets(spec: Any) -> list[Any]:
    """A Location spec's ``targets`` and ``target``, as written."""
    if not isinstance(spec, Mapping):
        return []
    targets = spec.get("targets")
    found = list(targets) if isinstance(targets, list) else []
    if spec.get("target"):
        found.append(spec["target"])
    return found


def target_paths(spec: Any, file: str) -> list[str]:
    """The source-relative paths (or globs) a Location read from ``file`` points at; remote
    and escaping targets are left out."""
    directory = posixpath.dirname(file)
    found = []
    for target in raw_targets(spec):
        if not isinstance(target, str) or "://" in target:
            continue
        path = inside(posixpath.join(directory, target))
        if path is not None:
            found.append(path)
    return found


def reached_files(
    start: Iterable[str], targets: Mapping[str, Iterable[str]], files: Iterable[str]
) -> dict[str, str]:
    """``start`` and every file reached from it through Locations, transitively, each with
    the file of ``start`` it was first reached from.

    ``targets`` maps a file to the target paths (or globs) of the Locations it holds;
    ``files`` are the files a glob may match. Cycles end."""
    known = sorted(set(files))
    reached = {path: path for path in start}
    pending = list(reached)
    while pending:
        path = pending.pop()
        for target in targets.get(path, ()):
            if _GLOB & set(target):
                matches = [f for f in known if fnmatch.fnmatchcase(f, target)]
            else:
                matches = [target]
            for match in matches:
                if match not in reached:
                    reached[match] = reached[path]
                    pending.append(match)
    return reached
