"""``fs:rename`` and ``fs:delete``: move and remove files inside the workspace (both ends
of every path checked against it)."""

from __future__ import annotations

import shutil

from scaffolder.actions.contract import Action, ActionContext, schema
from scaffolder.errors import ActionError


async def rename(ctx: ActionContext) -> None:
    files = ctx.input.get("files")
    if not isinstance(files, list) or not files:
        raise ActionError("fs:rename needs files: a list of {from, to}")
    for item in files:
        if not isinstance(item, dict) or "from" not in item or "to" not in item:
            raise ActionError(f"fs:rename: {item!r} is not a {{from, to}} pair")
        source = ctx.workspace.path(item["from"], "the file to rename")
        target = ctx.workspace.path(item["to"], "the new name")
        if not source.exists():
            raise ActionError(f"fs:rename: {item['from']!r} does not exist in the workspace")
        if target.exists() and not item.get("overwrite"):
            raise ActionError(
                f"fs:rename: {item['to']!r} exists; set overwrite: true to replace it"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(source, target)
        ctx.log(f"renamed {item['from']} to {item['to']}")


async def delete(ctx: ActionContext) -> None:
    files = ctx.input.get("files")
    if not isinstance(files, list):
        raise ActionError("fs:delete needs files: a list of paths")
    for name in files:
        path = ctx.workspace.path(name, "the file to delete")
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
        ctx.log(f"deleted {name}")


_PAIR = {
    "type": "object",
    "required": ["from", "to"],
    "properties": {
        "from": {"type": "string"},
        "to": {"type": "string"},
        "overwrite": {"type": "boolean"},
    },
}
FS_RENAME = Action(
    "fs:rename",
    "Renames files in the workspace.",
    rename,
    schema(["files"], files={"type": "array", "items": _PAIR}),
)
FS_DELETE = Action(
    "fs:delete",
    "Deletes files in the workspace.",
    delete,
    schema(["files"], files={"type": "array", "items": {"type": "string"}}),
)
