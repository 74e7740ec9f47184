"""Read-only views of a repository's files: the committed tree of a git repo, a plain
folder, or an in-memory mapping (for tests of the pure transform).

All I/O of the git source lives here (``get``): the git CLI is the only way in.
"""

from __future__ import annotations

import os
import posixpath
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Protocol

from catalog.locations import inside
from ingestors.errors import SourceUnavailableError
from ingestors.git.files import (
    MAX_FILE_BYTES,
    FileRefused,
    decode_text,
    read_regular_file,
    too_big,
)

#: symbolic links followed one after another before a read gives up
MAX_LINK_HOPS = 8
_LINK_MODE = "120000"
#: blobs asked of ``git cat-file`` in one write (41 bytes each: well under a pipe's 64 KiB)
PREFETCH_CHUNK = 512
GIT_TIMEOUT_SECONDS = 300
_CREDENTIALS = re.compile(r"(://)[^/@\s]+@")


def redact(text: str) -> str:
    """Remove credentials from URLs (``https://user:token@host`` -> ``https://***@host``)."""
    return _CREDENTIALS.sub(r"\1***@", text)


def strip_credentials(url: str) -> str:
    """The URL without its user part (``https://user:token@host/x`` -> ``https://host/x``),
    as it goes into entities' location annotations."""
    return _CREDENTIALS.sub(r"\1", url)


class Tree(Protocol):
    """Files of one snapshot of a source, by POSIX path relative to its root."""

    def paths(self) -> list[str]: ...

    def read(self, path: str) -> str:
        """The file's text; raises ``FileNotFoundError``, or another ``OSError`` (such as
        :class:`~ingestors.git.files.FileRefused`) when it cannot."""
        ...

    def prefetch(self, paths: Sequence[str]) -> None:
        """A hint: these files will be read soon (a tree may fetch them together)."""
        ...


@dataclass
class MemoryTree:
    files: Mapping[str, str]

    def paths(self) -> list[str]:
        return sorted(self.files)

    def prefetch(self, paths: Sequence[str]) -> None:
        pass

    def read(self, path: str) -> str:
        try:
            return self.files[path]
        except KeyError:
            raise FileNotFoundError(path) from None


class DirTree:
    """A plain folder on disk (not a git repository): its files as they are now."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._resolved: Path | None = None

    def paths(self) -> list[str]:
        found = []
        for directory, dirs, files in os.walk(self.root):
            dirs[:] = sorted(d for d in dirs if d not in (".git", "node_modules"))
            for name in files:
                full = Path(directory, name)
                found.append(full.relative_to(self.root).as_posix())
        return sorted(found)

    def prefetch(self, paths: Sequence[str]) -> None:
        pass

    def read(self, path: str) -> str:
        """Only a regular file inside the folder, by the rules of :mod:`ingestors.git.files`."""
        if self._resolved is None:
            self._resolved = self.root.resolve()
        return decode_text(read_regular_file(self._resolved, path))


def _git(args: list[str], *, cwd: Path | None = None, source: str) -> str:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", "LC_ALL": "C"}
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except FileNotFoundError:
        raise SourceUnavailableError(source, "the git command is not installed") from None
    except subprocess.TimeoutExpired:
        raise SourceUnavailableError(
            source, f"git {args[0]} took longer than {GIT_TIMEOUT_SECONDS}s"
        ) from None
    if done.returncode != 0:
        message = redact(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "")
        raise SourceUnavailableError(source, f"git {args[0]} failed: {message}")
    return done.stdout


class GitTree:
    """The tree of one commit of a git repository, read with ``git ls-tree`` / ``cat-file``."""

    def __init__(self, git_dir: Path, commit: str, prefix: str, source: str) -> None:
        self.git_dir = git_dir
        self.commit = commit
        self.prefix = prefix.strip("/")
        self.source = source
        self._blobs: dict[str, tuple[str, int]] = {}
        self._links: set[str] = set()
        self._fetched: dict[str, bytes] = {}
        self._batch: subprocess.Popen[bytes] | None = None
        listing = _git(
            ["ls-tree", "-r", "-l", "-z", "--full-tree", commit], cwd=git_dir, source=source
        )
        strip = f"{self.prefix}/" if self.prefix else ""
        for entry in listing.split("\0"):
            if not entry:
                continue
            meta, path = entry.split("\t", 1)
            mode, kind, sha, size = meta.split()
            if kind != "blob" or not path.startswith(strip):
                continue
            self._blobs[path[len(strip) :]] = (sha, int(size) if size.isdigit() else 0)
            if mode == _LINK_MODE:
                self._links.add(path[len(strip) :])

    def paths(self) -> list[str]:
        return sorted(self._blobs)

    def read(self, path: str) -> str:
        """The committed file's text: a symbolic link is followed while it stays in the
        source; the size is checked before the blob is read (:mod:`ingestors.git.files`)."""
        path = self._follow_links(path)
        sha, size = self._blobs[path]
        if size > MAX_FILE_BYTES:
            raise too_big(size)
        return decode_text(self._content(path, sha))

    def _content(self, path: str, sha: str) -> bytes:
        content = self._fetched.pop(path, None)
        if content is None:
            (content,) = self._cat([sha])
        if content is None:
            raise OSError(f"git could not read blob {sha}")
        return content

    def _follow_links(self, path: str) -> str:
        """The path a committed symbolic link leads to (the path itself when it is not one)."""
        for _ in range(MAX_LINK_HOPS):
            if path not in self._blobs:
                raise FileNotFoundError(path)
            if path not in self._links:
                return path
            sha = self._blobs[path][0]
            link = self._content(path, sha)[:4096].decode("utf-8", errors="replace")
            target = (
                None
                if link.startswith("/")
                else inside(posixpath.join(posixpath.dirname(path), link))
            )
            if target is None:
                raise FileRefused(
                    "a symbolic link to a file outside the source; only files inside it are read"
                )
            path = target
        raise FileRefused(
            f"more than {MAX_LINK_HOPS} symbolic links in a row; link the file itself"
        )

    def prefetch(self, paths: Sequence[str]) -> None:
        """Fetch these blobs in pipelined exchanges (one write, then the answers, per
        :data:`PREFETCH_CHUNK`), kept until :meth:`read` takes them. Files that cannot be
        read are left for :meth:`read` to report."""
        wanted = []
        for path in dict.fromkeys(paths):
            blob = self._blobs.get(path)
            if (
                blob is not None
                and blob[1] <= MAX_FILE_BYTES
                and path not in self._fetched
                and path not in self._links
            ):
                wanted.append((path, blob[0]))
        for start in range(0, len(wanted), PREFETCH_CHUNK):
            chunk = wanted[start : start + PREFETCH_CHUNK]
            contents = self._cat([sha for _, sha in chunk])
            for (path, _), content in zip(chunk, contents, strict=True):
                if content is not None:
                    self._fetched[path] = content

    def _process(self) -> subprocess.Popen[bytes]:
        """The long-lived ``git cat-file --batch`` (no process per file)."""
        if self._batch is None:
            self._batch = subprocess.Popen(
                ["git", "cat-file", "--batch"],
                cwd=self.git_dir,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        return self._batch

    def _cat(self, shas: Sequence[str]) -> list[bytes | None]:
        """The contents of blobs, asked for in one write (at most PREFETCH_CHUNK of them, so
        the request fits the pipe and cannot deadlock); None for a blob git cannot give.
        Raises :class:`SourceUnavailableError` when git stops before it has answered."""
        batch = self._process()
        assert batch.stdin is not None and batch.stdout is not None
        try:
            batch.stdin.write("".join(f"{sha}\n" for sha in shas).encode())
            batch.stdin.flush()
        except BrokenPipeError:
            raise self._stopped() from None
        return [self._answer(batch.stdout) for _ in shas]

    def _answer(self, out: IO[bytes]) -> bytes | None:
        line = out.readline()
        if not line.endswith(b"\n"):
            raise self._stopped()
        header = line.decode().split()
        if len(header) != 3 or header[1] != "blob":  # "<sha> missing", or not a blob
            if len(header) == 3:
                out.read(int(header[2]) + 1)
            return None
        size = int(header[2])
        content = out.read(size)
        if len(content) != size or out.read(1) != b"\n":
            raise self._stopped()
        return content

    def _stopped(self) -> SourceUnavailableError:
        """git died mid-answer. A cut blob is not the file: read as one, a ``name: api-33``
        cut to ``name: api-3`` renamed the entity and the run deleted the real one."""
        status = self._batch.poll() if self._batch is not None else None
        return SourceUnavailableError(
            self.source,
            f"git cat-file stopped before it had sent every file (exit status {status}); "
            "the read is incomplete, so this run stops here: run it again",
        )

    def close(self) -> None:
        if self._batch is not None:
            try:
                if self._batch.stdin is not None:
                    self._batch.stdin.close()
            except BrokenPipeError:
                pass  # git is gone already; what it was sent no longer matters
            if self._batch.stdout is not None:
                self._batch.stdout.close()
            self._batch.wait(timeout=10)
            self._batch = None


def is_remote(source: str) -> bool:
    return "://" in source or bool(re.match(r"^[\w.-]+@[\w.-]+:", source))


@dataclass(frozen=True)
class Checkout:
    """An opened source: its files, the commit (None for a plain folder), a display URL and,
    for a remote, the branch or tag read (the one asked for, else the default branch)."""

    tree: Tree
    commit: str | None
    repo: str
    prefix: str
    ref: str | None = None  # a remote's ref as asked, or its default branch


@contextmanager
def open_source(source: str, ref: str | None = None) -> Iterator[Checkout]:
    """Open a local path or git URL at ``ref`` (default: HEAD, the default branch).

    A remote is cloned (bare) into a temporary folder removed on exit. A local path inside
    a git work tree reads the committed tree, limited to that folder. A plain folder is
    read as it is on disk. Raises :class:`SourceUnavailableError` when none of that works.
    """
    display = redact(source)
    if is_remote(source):
        with tempfile.TemporaryDirectory(prefix="stagegraph-git-") as tmp:
            target = Path(tmp) / "repo.git"
            _git(["clone", "--bare", "--quiet", source, str(target)], source=display)
            commit = _resolve(target, ref, display)
            read = ref or _default_branch(target, display)
            with closing(GitTree(target, commit, "", display)) as tree:
                yield Checkout(tree, commit, strip_credentials(source), "", read)
        return
    path = Path(source).expanduser()
    if not path.exists():
        raise SourceUnavailableError(display, "no such file or folder; check the path")
    if not path.is_dir():
        raise SourceUnavailableError(display, "not a folder; give the repository's folder")
    if shutil.which("git") is None:
        raise SourceUnavailableError(display, "the git command is not installed")
    inside = subprocess.run(
        ["git", "rev-parse", "--is-inside-work-tree", "--is-bare-repository"],
        cwd=path,
        capture_output=True,
        text=True,
        check=False,
    )
    answers = inside.stdout.split()
    if inside.returncode != 0 or not answers:
        if ref:
            raise SourceUnavailableError(
                display, f"--ref {ref} given but this is not a git repository"
            )
        yield Checkout(DirTree(path.resolve()), None, str(path.resolve()), "")
        return
    if answers[-1] == "true":  # a bare repository
        commit = _resolve(path, ref, display)
        with closing(GitTree(path, commit, "", display)) as tree:
            yield Checkout(tree, commit, str(path.resolve()), "")
        return
    top = Path(_git(["rev-parse", "--show-toplevel"], cwd=path, source=display).strip())
    prefix = PurePosixPath(path.resolve().relative_to(top.resolve()).as_posix()).as_posix()
    prefix = "" if prefix == "." else prefix
    commit = _resolve(top, ref, display)
    with closing(GitTree(top, commit, prefix, display)) as tree:
        yield Checkout(tree, commit, str(top), prefix)


def _default_branch(git_dir: Path, source: str) -> str | None:
    """The branch HEAD names in a clone (None when HEAD is detached)."""
    try:
        name = _git(["symbolic-ref", "--quiet", "--short", "HEAD"], cwd=git_dir, source=source)
    except SourceUnavailableError:
        return None
    return name.strip() or None


def _resolve(git_dir: Path, ref: str | None, source: str) -> str:
    wanted = ref or "HEAD"
    try:
        return _git(
            ["rev-parse", "--verify", "--quiet", f"{wanted}^{{commit}}"], cwd=git_dir, source=source
        ).strip()
    except SourceUnavailableError:
        hint = (
            "the repository has no commits yet"
            if wanted == "HEAD"
            else "check the branch, tag or commit"
        )
        raise SourceUnavailableError(source, f"ref {wanted!r} not found ({hint})") from None
