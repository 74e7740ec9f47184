"""A task's workspace: a fresh folder every path of a step is resolved inside.

:meth:`Workspace.path` refuses a path that is absolute, climbs out with ``..``, or passes
through a symbolic link (a link inside the workspace could point anywhere); files copied in
are checked by :func:`check_tree` (no link leaving the tree, total size under the limit).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from scaffolder.errors import WorkspaceError

#: The most a skeleton (or the workspace after fetching one) may hold.
MAX_BYTES = 50 * 1024 * 1024


def safe_relative(relative: str, what: str) -> PurePosixPath:
    """``relative`` as a path that stays where it is joined: not absolute, no ``..``."""
    if not isinstance(relative, str):
        raise WorkspaceError(f"{what} must be a path inside the workspace, not {relative!r}")
    pure = PurePosixPath(relative.replace("\\", "/"))
    if pure.is_absolute() or relative.startswith("~"):
        raise WorkspaceError(
            f"{what} {relative!r} is absolute; give a path relative to the workspace"
        )
    if ".." in pure.parts:
        raise WorkspaceError(f"{what} {relative!r} leaves the workspace ('..'); remove the '..'")
    return pure


@dataclass(frozen=True)
class Workspace:
    """The folder a task's steps work in."""

    root: Path

    def path(self, relative: str, what: str = "the path") -> Path:
        """The absolute path of ``relative`` inside the workspace; refused when it would
        leave it (absolute, ``..``, or through a symbolic link)."""
        pure = safe_relative(relative or ".", what)
        current = self.root
        for part in pure.parts:
            if part == ".":
                continue
            current = current / part
            if current.is_symlink():
                raise WorkspaceError(
                    f"{what} {relative!r} goes through the symbolic link {part!r}; links are "
                    "not followed in a workspace"
                )
        return current

    def files(self) -> list[str]:
        """Every file under the workspace, as sorted relative POSIX paths (``.git`` aside)."""
        found: list[str] = []
        for folder, dirs, names in os.walk(self.root):
            dirs[:] = [d for d in dirs if d != ".git"]
            for name in names:
                found.append(Path(folder, name).relative_to(self.root).as_posix())
        return sorted(found)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def check_tree(root: Path, what: str, limit: int = MAX_BYTES) -> None:
    """Refuse a tree holding a symbolic link or more than ``limit`` bytes."""
    total = 0
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in [*dirs, *names]:
            entry = Path(folder, name)
            if entry.is_symlink():
                raise WorkspaceError(
                    f"{what} holds the symbolic link {entry.relative_to(root).as_posix()!r}; "
                    "links are refused (they could point outside the workspace)"
                )
        for name in names:
            total += Path(folder, name).stat().st_size
            if total > limit:
                raise WorkspaceError(
                    f"{what} is larger than {limit // (1024 * 1024)} MB; templates are for "
                    "skeletons, keep large files elsewhere"
                )
