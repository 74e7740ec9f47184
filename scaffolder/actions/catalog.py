"""``catalog:write`` and ``catalog:register``.

``catalog:write`` writes an entity as YAML into the workspace (``filePath``, default
``catalog-info.yaml``), adding ``backstage.io/source-template`` as Backstage does.
``catalog:register`` registers the new repository's descriptor (``repoContentsUrl`` +
``catalogInfoPath``, or ``catalogInfoUrl``) as a catalog location and ingests it at once;
every entity read is annotated with the template (so it is ``scaffoldedFrom`` it). Outputs
``entityRef`` (the first entity that is not a Location) and ``catalogInfoUrl``.
"""

from __future__ import annotations

from typing import Any

import yaml

from catalog.relations import SOURCE_TEMPLATE_ANNOTATION
from scaffolder.actions.contract import Action, ActionContext, schema, text
from scaffolder.errors import ActionError


async def catalog_write(ctx: ActionContext) -> None:
    entity = ctx.input.get("entity")
    if not isinstance(entity, dict):
        raise ActionError("catalog:write needs entity: the entity to write, as an object")
    entity = dict(entity)
    metadata: dict[str, Any] = dict(entity.get("metadata") or {})
    annotations = dict(metadata.get("annotations") or {})
    annotations.setdefault(SOURCE_TEMPLATE_ANNOTATION, ctx.template.ref)
    metadata["annotations"] = annotations
    entity["metadata"] = metadata
    path = ctx.workspace.path(str(ctx.input.get("filePath") or "catalog-info.yaml"), "filePath")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(entity, sort_keys=False))
    ctx.log(f"wrote {path.relative_to(ctx.workspace.root).as_posix()}")


async def catalog_register(ctx: ActionContext) -> None:
    url = ctx.input.get("catalogInfoUrl")
    if not url:
        contents = ctx.input.get("repoContentsUrl")
        if not contents:
            raise ActionError("catalog:register needs repoContentsUrl (or catalogInfoUrl)")
        path = str(ctx.input.get("catalogInfoPath") or "/catalog-info.yaml")
        url = f"{str(contents).rstrip('/')}/{path.lstrip('/')}"
    ctx.output("catalogInfoUrl", url)
    if ctx.dry_run:
        ctx.log(f"dry run: would register {url}")
        return
    if ctx.services.register is None:
        raise ActionError("catalog:register is not available in this process (no catalog)")
    refs = await ctx.services.register(str(url), ctx.template.ref)
    if not refs:
        if ctx.input.get("optional"):
            ctx.log(f"registered {url}; it holds no entity (optional)")
            return
        raise ActionError(f"registered {url}, but no entity was read from it; check the descriptor")
    chosen = next((ref for ref in refs if not ref.startswith("location:")), refs[0])
    ctx.output("entityRef", chosen)
    ctx.log(f"registered {url}: {', '.join(refs)}")


CATALOG_WRITE = Action(
    "catalog:write",
    "Writes a catalog descriptor into the workspace.",
    catalog_write,
    schema(["entity"], entity={"type": "object"}, filePath=text("Default catalog-info.yaml.")),
)
CATALOG_REGISTER = Action(
    "catalog:register",
    "Registers the new repository's descriptor in the catalog and ingests it at once.",
    catalog_register,
    schema(
        repoContentsUrl=text("The repository's contents URL (publish:* output)."),
        catalogInfoPath=text("Default /catalog-info.yaml."),
        catalogInfoUrl=text("The descriptor's URL, instead of the two above."),
        optional={"type": "boolean"},
    ),
    {
        "type": "object",
        "properties": {"entityRef": {"type": "string"}, "catalogInfoUrl": {"type": "string"}},
    },
)
