"""``debug:log`` and ``notification:send``: write to the task's log; record a notification
on the task (its recipients, title and text)."""

from __future__ import annotations

import json
from typing import Any

from scaffolder.actions.contract import Action, ActionContext, schema, text


async def debug_log(ctx: ActionContext) -> None:
    if "message" in ctx.input:
        ctx.log(str(ctx.input["message"]))
    if "extra" in ctx.input:
        ctx.log(json.dumps(ctx.input["extra"], default=str))
    if ctx.input.get("listWorkspace"):
        for name in ctx.workspace.files():
            ctx.log(f"workspace: {name}")


async def notification_send(ctx: ActionContext) -> None:
    notice: dict[str, Any] = {
        key: ctx.input.get(key)
        for key in ("recipients", "entityRefs", "title", "info", "link", "severity", "scope")
        if key in ctx.input
    }
    if ctx.dry_run:
        ctx.log(f"dry run: would notify {notice.get('recipients')}: {notice.get('title')}")
        return
    ctx.notifications.append(notice)
    ctx.log(
        f"notified {notice.get('recipients')} {notice.get('entityRefs') or ''}: {notice.get('title')}"
    )


DEBUG_LOG = Action(
    "debug:log",
    "Writes a message (and optionally the workspace's files) to the task's log.",
    debug_log,
    schema(message=text("The message."), listWorkspace={"type": "boolean"}, extra={}),
)
NOTIFICATION_SEND = Action(
    "notification:send",
    "Records a notification on the task.",
    notification_send,
    schema(
        ["recipients", "title"],
        recipients={"type": "string", "enum": ["broadcast", "entity"]},
        entityRefs={"type": "array", "items": {"type": "string"}},
        title=text("The title."),
        info=text("The text."),
        link=text("A link."),
        severity={"type": "string"},
        scope={"type": "string"},
    ),
)
