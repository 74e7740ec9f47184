"""GraphQL types of the delivery kinds (Pipeline, Build, Deployment, Environment,
CloudAccount) and the delivery fields of ``Component`` and ``Resource``.

Everything is read through the request's loaders by following relations: a pipeline's
builds are its ``hasRun`` relations, a component's deployments its ``deployedBy`` ones, and
so on (see :mod:`catalog.relations`). A field costs one batched store call per level of the
selection whatever the number of items; "newest first" is sorted here, over the entities
loaded, by ``spec.startedAt`` (builds) or ``spec.createdAt`` (deployments).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import strawberry

from catalog.errors import InvalidRefError
from catalog.refs import parse_ref
from catalog.relations import normalize_type
from schema.context import Info
from schema.entity import Entity, to_graphql
from schema.errors import UserInputError
from schema.inputs import page_size

if TYPE_CHECKING:
    from schema.kinds import Component, Resource

ARN_ANNOTATION = "aws.amazon.com/arn"
REGION_ANNOTATION = "aws.amazon.com/region"
ACCOUNT_ANNOTATION = "aws.amazon.com/account-id"
DEFAULT_EVENTS = 10

E = TypeVar("E", bound=Entity)
_OLDEST = datetime.min.replace(tzinfo=UTC)

ComponentType = Annotated["Component", strawberry.lazy("schema.kinds")]
ResourceType = Annotated["Resource", strawberry.lazy("schema.kinds")]


def _kind_of(ref: str) -> str:
    return ref.split(":", 1)[0].lower()


async def related_refs(info: Info, keys: Sequence[str], type_: str, kind: str) -> list[str]:
    """Refs of ``kind`` at the other end of ``type_`` relations (forward or inverse name)
    of any of ``keys``, each once, sorted: one batched load for all keys."""
    forward, inverse = normalize_type(type_)
    found: dict[str, str] = {}
    loaded = await info.context.loaders.relations.load_many(list(keys))
    for key, rows in zip(keys, loaded, strict=True):
        me = key.lower()
        for row in rows:
            if row.type != forward:
                continue
            end, other = (
                (row.target_ref, row.source_ref) if inverse else (row.source_ref, row.target_ref)
            )
            if end.lower() == me and _kind_of(other) == kind:
                found.setdefault(other.lower(), other)
    return [found[key] for key in sorted(found)]


async def load_typed(info: Info, refs: Sequence[str], cls: type[E]) -> list[E]:
    """The existing entities of ``refs`` as GraphQL objects of ``cls`` (others left out)."""
    found = await info.context.loaders.entities.load_many(list(refs))
    objects = [to_graphql(stored) for stored in found if stored is not None]
    return [o for o in objects if isinstance(o, cls)]


async def related(entity: Entity, info: Info, type_: str, kind: str, cls: type[E]) -> list[E]:
    refs = await related_refs(info, [entity.stored.key], type_, kind)
    return await load_typed(info, refs, cls)


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 timestamp (``Z`` or an offset; naive means UTC); None when it is not one."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def newest_first(items: Sequence[E], time_field: str) -> list[E]:
    """``items`` by ``spec.<time_field>``, newest first (then higher number, then ref);
    items with no time come last."""

    def key(item: E) -> tuple[datetime, float, str]:
        number = item._spec.get("number")
        rank = float(number) if isinstance(number, int | float) else -1.0
        return (parse_time(item._spec.get(time_field)) or _OLDEST, rank, item.stored.key)

    return sorted(items, key=key, reverse=True)


def _text(spec: dict[str, Any], field: str) -> str | None:
    value = spec.get(field)
    return None if value is None else str(value)


@strawberry.type(description="A CI pipeline (a workflow, a .gitlab-ci.yml, a Jenkins job).")
class Pipeline(Entity):
    @strawberry.field(description="github-actions, gitlab-ci, jenkins, ...")
    def type(self) -> str | None:
        return _text(self._spec, "type")

    @strawberry.field(description="The repository it lives in (owner/repo, or its name).")
    def repository(self) -> str | None:
        return _text(self._spec, "repository")

    @strawberry.field(description="Its file in the repository.")
    def path(self) -> str | None:
        return _text(self._spec, "path")

    @strawberry.field
    def url(self) -> str | None:
        return _text(self._spec, "url")

    @strawberry.field(description="The components it builds.")
    async def components(self, info: Info) -> list[ComponentType]:
        from schema.kinds import Component

        return await related(self, info, "builds", "component", Component)

    @strawberry.field(description="Its runs, newest first (by startedAt).")
    async def builds(self, info: Info, first: int | None = DEFAULT_EVENTS) -> list[Build]:
        size = page_size(first, DEFAULT_EVENTS)
        runs = await related(self, info, "hasRun", "build", Build)
        return newest_first(runs, "startedAt")[:size]

    @strawberry.field(description="Its newest run.")
    async def latest_build(self, info: Info) -> Build | None:
        runs = newest_first(await related(self, info, "hasRun", "build", Build), "startedAt")
        return runs[0] if runs else None


@strawberry.type(description="One run of a pipeline.")
class Build(Entity):
    @strawberry.field(description="queued, in_progress, completed, ...")
    def status(self) -> str | None:
        return _text(self._spec, "status")

    @strawberry.field(description="success, failure, cancelled, ... (once completed).")
    def conclusion(self) -> str | None:
        return _text(self._spec, "conclusion")

    @strawberry.field
    def number(self) -> int | None:
        value = self._spec.get("number")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @strawberry.field
    def branch(self) -> str | None:
        return _text(self._spec, "branch")

    @strawberry.field
    def commit(self) -> str | None:
        return _text(self._spec, "commit")

    @strawberry.field(description="When it started; null when unknown or not ISO 8601.")
    def started_at(self) -> datetime | None:
        return parse_time(self._spec.get("startedAt"))

    @strawberry.field
    def duration_seconds(self) -> float | None:
        value = self._spec.get("durationSeconds")
        return float(value) if isinstance(value, int | float) else None

    @strawberry.field
    def url(self) -> str | None:
        return _text(self._spec, "url")

    @strawberry.field(description="The pipeline it is a run of.")
    async def pipeline(self, info: Info) -> Pipeline | None:
        found = await related(self, info, "runOf", "pipeline", Pipeline)
        return found[0] if found else None


@strawberry.type(description="A component shipped to an environment.")
class Deployment(Entity):
    @strawberry.field(description="success, failure, in_progress, ...")
    def status(self) -> str | None:
        return _text(self._spec, "status")

    @strawberry.field
    def commit(self) -> str | None:
        return _text(self._spec, "commit")

    @strawberry.field(description="The branch or tag deployed (spec.ref; `ref` is the entity's).")
    def git_ref(self) -> str | None:
        return _text(self._spec, "ref")

    @strawberry.field(description="When it was made; null when unknown or not ISO 8601.")
    def created_at(self) -> datetime | None:
        return parse_time(self._spec.get("createdAt"))

    @strawberry.field(description="Who (or what) deployed it.")
    def creator(self) -> str | None:
        return _text(self._spec, "creator")

    @strawberry.field
    def url(self) -> str | None:
        return _text(self._spec, "url")

    @strawberry.field(description="The component it deploys.")
    async def component(self, info: Info) -> ComponentType | None:
        from schema.kinds import Component

        found = await related(self, info, "deploys", "component", Component)
        return found[0] if found else None

    @strawberry.field(description="The environment it went to.")
    async def environment(self, info: Info) -> Environment | None:
        found = await related(self, info, "deployedTo", "environment", Environment)
        return found[0] if found else None


@strawberry.type(description="Where components run: production, staging, ...")
class Environment(Entity):
    @strawberry.field(description="production, staging, ...")
    def type(self) -> str | None:
        return _text(self._spec, "type")

    @strawberry.field
    def url(self) -> str | None:
        return _text(self._spec, "url")

    @strawberry.field(description="Components deployed here.")
    async def components(self, info: Info) -> list[ComponentType]:
        from schema.kinds import Component

        return await related(self, info, "hosts", "component", Component)

    @strawberry.field(description="Deployments to it, newest first (by createdAt).")
    async def deployments(self, info: Info, first: int | None = DEFAULT_EVENTS) -> list[Deployment]:
        size = page_size(first, DEFAULT_EVENTS)
        found = await related(self, info, "hosts", "deployment", Deployment)
        return newest_first(found, "createdAt")[:size]

    @strawberry.field(description="Cloud resources deployed to it.")
    async def resources(self, info: Info) -> list[ResourceType]:
        from schema.kinds import Resource

        return await related(self, info, "hosts", "resource", Resource)


@strawberry.type(description="A cloud account (an AWS account, ...).")
class CloudAccount(Entity):
    @strawberry.field(description="aws, ...")
    def provider(self) -> str | None:
        return _text(self._spec, "provider")

    @strawberry.field
    def account_id(self) -> str | None:
        return _text(self._spec, "accountId")

    @strawberry.field
    def alias(self) -> str | None:
        return _text(self._spec, "alias")

    @strawberry.field(description="Resources in it (partOf it), by ref.")
    async def resources(self, info: Info, first: int | None = 25) -> list[ResourceType]:
        from schema.kinds import Resource

        size = page_size(first, 25)
        return (await related(self, info, "hasPart", "resource", Resource))[:size]


@strawberry.type(description="Where a cloud resource lives, from its aws.amazon.com/* annotations.")
class CloudInfo:
    provider: str
    account: str | None
    region: str | None
    arn: str | None


def cloud_info(annotations: dict[str, Any]) -> CloudInfo | None:
    """From ``aws.amazon.com/arn``, ``/region`` and ``/account-id`` (the ARN fills what the
    others leave out); None when the entity has none of them."""
    arn, region, account = (
        annotations.get(key) for key in (ARN_ANNOTATION, REGION_ANNOTATION, ACCOUNT_ANNOTATION)
    )
    if not (arn or region or account):
        return None
    parts = arn.split(":", 5) if isinstance(arn, str) else []
    if len(parts) == 6 and parts[0] == "arn":
        region = region or parts[3] or None
        account = account or parts[4] or None
    return CloudInfo(
        provider="aws",
        account=str(account) if account else None,
        region=str(region) if region else None,
        arn=str(arn) if arn else None,
    )


# --- the delivery fields of Component and Resource (declared in schema.kinds) ------------


async def component_pipelines(component: Entity, info: Info) -> list[Pipeline]:
    return await related(component, info, "builtBy", "pipeline", Pipeline)


async def component_builds(component: Entity, info: Info, first: int | None) -> list[Build]:
    size = page_size(first, DEFAULT_EVENTS)
    pipelines = await related_refs(info, [component.stored.key], "builtBy", "pipeline")
    runs = await related_refs(info, pipelines, "hasRun", "build")
    return newest_first(await load_typed(info, runs, Build), "startedAt")[:size]


async def _deployments(component: Entity, info: Info) -> list[Deployment]:
    found = await related(component, info, "deployedBy", "deployment", Deployment)
    return newest_first(found, "createdAt")


async def component_deployments(
    component: Entity, info: Info, first: int | None
) -> list[Deployment]:
    return (await _deployments(component, info))[: page_size(first, DEFAULT_EVENTS)]


async def component_environments(component: Entity, info: Info) -> list[Environment]:
    """Environments it is deployedTo, directly or through its deployments."""
    key = component.stored.key
    deployments = await related_refs(info, [key], "deployedBy", "deployment")
    refs = await related_refs(info, [key, *deployments], "deployedTo", "environment")
    return await load_typed(info, refs, Environment)


async def component_latest_deployment(
    component: Entity, info: Info, environment: str
) -> Deployment | None:
    """Its newest deployment to ``environment``: a plain name (``production``) matches the
    environment's name in any namespace, a ref with a namespace
    (``environment:default/production``) matches exactly."""
    try:
        wanted = parse_ref(
            environment, default_kind="environment", default_namespace=component.stored.namespace
        )
    except InvalidRefError as exc:
        raise UserInputError(
            f"environment: {exc.reason}; give an environment name (production) or ref "
            "(environment:default/production)"
        ) from None
    by_name = "/" not in environment
    for deployment in await _deployments(component, info):
        target = deployment._spec.get("environment")
        if not isinstance(target, str):
            continue
        try:
            ref = parse_ref(
                target, default_kind="environment", default_namespace=deployment.stored.namespace
            )
        except InvalidRefError:
            continue
        if by_name and ref.kind == wanted.kind and ref.name.lower() == wanted.name.lower():
            return deployment
        if ref.key == wanted.key:
            return deployment
    return None


async def resource_environments(resource: Entity, info: Info) -> list[Environment]:
    return await related(resource, info, "deployedTo", "environment", Environment)


async def resource_account(resource: Entity, info: Info) -> CloudAccount | None:
    found = await related(resource, info, "partOf", "cloudaccount", CloudAccount)
    return found[0] if found else None


DELIVERY_TYPES: dict[str, type[Entity]] = {
    "pipeline": Pipeline,
    "build": Build,
    "deployment": Deployment,
    "environment": Environment,
    "cloudaccount": CloudAccount,
}
