"""``fetch:template`` and ``fetch:plain``: copy a skeleton into the workspace, rendering
``${{ values.x }}`` in file contents and names (``fetch:template``) or verbatim
(``fetch:plain``). Paths are checked against the workspace before anything is written; a
skeleton with a symbolic link or over the size limit is refused before it is read."""

from __future__ import annotations

import contextlib
import fnmatch
import os
from pathlib import Path
from typing import Any

from scaffolder.actions.contract import Action, ActionContext, schema, text
from scaffolder.errors import ActionError
from scaffolder.render import render_text
from scaffolder.sources import fetch_folder
from scaffolder.workspace import check_tree, safe_relative


def _source_files(folder: Path) -> list[str]:
    found: list[str] = []
    for current, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d != ".git")
        found.extend(Path(current, n).relative_to(folder).as_posix() for n in sorted(names))
    return found


async def _source(ctx: ActionContext) -> Path:
    scratch = ctx.workspace.root.parent / "sources"
    scratch.mkdir(exist_ok=True)
    folder = await fetch_folder(
        ctx.input.get("url", ""), ctx.template.location, scratch, ctx.services.git_env
    )
    check_tree(folder, f"the skeleton {ctx.input.get('url')!r}")
    return folder


def _write(ctx: ActionContext, relative: str, data: bytes, replace: bool) -> None:
    target_path = str(ctx.input.get("targetPath") or ".")
    safe_relative(relative, "the skeleton file name")
    target = ctx.workspace.path(f"{target_path.rstrip('/')}/{relative}", "the file")
    if target.exists() and not replace:
        ctx.log(f"skipped {relative}: it exists already (set replace: true to overwrite)")
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink():
        target.unlink()
    target.write_bytes(data)


async def fetch_template(ctx: ActionContext) -> None:
    folder = await _source(ctx)
    values = ctx.input.get("values") or {}
    context: dict[str, Any] = {"values": values}
    plain = ctx.input.get("copyWithoutTemplating") or []
    if not isinstance(plain, list):
        raise ActionError("copyWithoutTemplating must be a list of globs")
    extension = ctx.input.get("templateFileExtension")
    if extension is True:
        extension = ".njk"
    replace = bool(ctx.input.get("replace", False))
    for relative in _source_files(folder):
        data = (folder / relative).read_bytes()
        verbatim = any(fnmatch.fnmatch(relative, str(glob).lstrip("./")) for glob in plain)
        name = relative
        if extension:
            if relative.endswith(str(extension)):
                name = relative[: -len(str(extension))]
            else:
                verbatim = True
        name = render_text(name, context)
        if not verbatim:
            with contextlib.suppress(UnicodeDecodeError):  # a binary file is copied as it is
                data = render_text(data.decode(), context).encode()
        _write(ctx, name, data, replace)
    ctx.log(
        f"fetched the template {ctx.input.get('url')!r} into {ctx.input.get('targetPath') or './'}"
    )


async def fetch_plain(ctx: ActionContext) -> None:
    folder = await _source(ctx)
    for relative in _source_files(folder):
        _write(
            ctx, relative, (folder / relative).read_bytes(), bool(ctx.input.get("replace", False))
        )
    ctx.log(f"fetched {ctx.input.get('url')!r} into {ctx.input.get('targetPath') or './'}")


FETCH_TEMPLATE = Action(
    "fetch:template",
    "Copies a skeleton into the workspace, rendering ${{ values.* }} in contents and names.",
    fetch_template,
    schema(
        ["url"],
        url=text("Relative to the template's location, or a git URL."),
        targetPath=text("Where in the workspace (default: its root)."),
        values={"type": "object", "description": "The values the skeleton sees as values.*."},
        copyWithoutTemplating={"type": "array", "items": {"type": "string"}},
        templateFileExtension={"type": ["string", "boolean"]},
        replace={"type": "boolean"},
    ),
)

FETCH_PLAIN = Action(
    "fetch:plain",
    "Copies files into the workspace as they are.",
    fetch_plain,
    schema(
        ["url"],
        url=text("Relative to the template's location, or a git URL."),
        targetPath=text("Where in the workspace."),
        replace={"type": "boolean"},
    ),
)

__all__ = ["FETCH_PLAIN", "FETCH_TEMPLATE"]
