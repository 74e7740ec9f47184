"""What a file must be for the git source to read it, checked before a byte is read.

A descriptor, a placeholder target (``$text``/``$json``/``$yaml``) or a CI file is read only
when it is

- inside the source: no ``..``, no absolute path, no symbolic link leading out of it
  (:func:`catalog.locations.inside`; the trees check links);
- a regular file: a FIFO, socket or device is refused without being opened for a read that
  could block (:func:`read_regular_file`);
- at most :data:`MAX_FILE_BYTES` long, told by its size before it is read;
- UTF-8 text (:func:`decode_text`; the error names the line of the first bad byte).

Anything else raises :class:`FileRefused` (an ``OSError``), which the transform reports as
an error for that file while the rest of the run goes on.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from catalog.locations import inside

#: the largest descriptor, placeholder target or CI file read, in bytes
MAX_FILE_BYTES = 1_000_000

_KINDS = {
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFDIR: "a folder",
}


class FileRefused(OSError):
    """A file the source will not read, and why; ``line`` and ``column`` say where in the
    file the problem is, when it has a place."""

    def __init__(self, reason: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line
        self.column = column

    def __str__(self) -> str:
        return self.reason


def too_big(size: int) -> FileRefused:
    return FileRefused(
        f"the file is {size} bytes, over the {MAX_FILE_BYTES}-byte limit for descriptor and "
        "placeholder files; split it or keep it out of the catalog"
    )


def decode_text(content: bytes) -> str:
    """The file's text; :class:`FileRefused` with the line and column of the first byte
    that is not UTF-8."""
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = content.count(b"\n", 0, exc.start) + 1
        column = exc.start - content.rfind(b"\n", 0, exc.start)
        raise FileRefused(
            f"not UTF-8 text: byte 0x{content[exc.start]:02x} at line {line}, column {column}; "
            "save the file as UTF-8 (or, if it is binary, do not point a descriptor at it)",
            line,
            column,
        ) from None


def read_regular_file(root: Path, path: str) -> bytes:
    """The bytes of ``root/path`` (``root`` resolved), checked as the module says.

    Symbolic links are followed only while they stay under ``root``; the file type and size
    are checked before opening, and again on the opened file (non-blocking, no link
    followed), so a file swapped meanwhile is refused too.
    """
    relative = inside(path)
    if relative is None:
        raise FileRefused(f"{path} is outside the source; paths must stay inside it")
    full = (root / relative).resolve()
    if not full.is_relative_to(root):
        raise FileRefused(
            "a symbolic link to a file outside the source; only files inside it are read"
        )
    _check(os.stat(full))
    descriptor = os.open(full, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(descriptor, "rb") as opened:
        _check(os.fstat(opened.fileno()))
        content = opened.read(MAX_FILE_BYTES + 1)
    if len(content) > MAX_FILE_BYTES:
        raise too_big(len(content))
    return content


def _check(info: os.stat_result) -> None:
    if not stat.S_ISREG(info.st_mode):
        kind = _KINDS.get(stat.S_IFMT(info.st_mode), "not a regular file")
        raise FileRefused(f"{kind}, not a regular file; only regular files are read")
    if info.st_size > MAX_FILE_BYTES:
        raise too_big(info.st_size)
