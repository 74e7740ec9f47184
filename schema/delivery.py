"""GraphQL types of the delivery kinds (Pipeline, Build, Deployment, Environment,
CloudAccount), and what ``Component`` and ``Resource`` (in :mod:`schema.kinds`) use for
their delivery fields: ``CloudInfo`` and the newest-first order.

Everything is read by following relations (:mod:`schema.related`): a pipeline's builds are
its ``hasRun`` relations, a component's deployments its ``deployedBy`` ones, and so on (see
:mod:`catalog.relations`). A field costs one batched store call per level of the selection
whatever the number of items; "newest first" is sorted here, over the entities loaded, by
``spec.startedAt`` (builds) or ``spec.createdAt`` (deployments).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Optional, TypeVar

import strawberry

from schema.context import Info
from schema.entity import Entity, kind_type
from schema.inputs import page_size
from schema.related import Resolved, settled

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


@kind_type("pipeline")
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

    @strawberry.field(description="Where to see it, when the source knows.")
    def url(self) -> str | None:
        return _text(self._spec, "url")

    @strawberry.field(description="The components it builds.", graphql_type=list[ComponentType])
    def components(self, info: Info) -> Resolved[list[Entity]]:
        return self.related_entities(info, "builds", "component")

    @strawberry.field(
        description="Its runs, newest first (by startedAt).", graphql_type=list["Build"]
    )
    async def builds(self, info: Info, first: int | None = DEFAULT_EVENTS) -> list[Entity]:
        size = page_size(first, DEFAULT_EVENTS)
        return (await self._runs(info))[:size]

    @strawberry.field(description="Its newest run.", graphql_type=Optional["Build"])
    async def latest_build(self, info: Info) -> Entity | None:
        runs = await self._runs(info)
        return runs[0] if runs else None

    async def _runs(self, info: Info) -> list[Entity]:
        runs = await settled(self.related_entities(info, "hasRun", "build"))
        return newest_first(runs, "startedAt")


@kind_type("build")
@strawberry.type(description="One run of a pipeline.")
class Build(Entity):
    @strawberry.field(description="queued, in_progress, completed, ...")
    def status(self) -> str | None:
        return _text(self._spec, "status")

    @strawberry.field(description="success, failure, cancelled, ... (once completed).")
    def conclusion(self) -> str | None:
        return _text(self._spec, "conclusion")

    @strawberry.field(description="The run number the CI gave it.")
    def number(self) -> int | None:
        value = self._spec.get("number")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @strawberry.field(description="The branch built.")
    def branch(self) -> str | None:
        return _text(self._spec, "branch")

    @strawberry.field(description="The commit built.")
    def commit(self) -> str | None:
        return _text(self._spec, "commit")

    @strawberry.field(description="When it started; null when unknown or not ISO 8601.")
    def started_at(self) -> datetime | None:
        return parse_time(self._spec.get("startedAt"))

    @strawberry.field(description="How long it ran; null while running or unknown.")
    def duration_seconds(self) -> float | None:
        value = self._spec.get("durationSeconds")
        return float(value) if isinstance(value, int | float) else None

    @strawberry.field(description="Where to see it, when the source knows.")
    def url(self) -> str | None:
        return _text(self._spec, "url")

    @strawberry.field(description="The pipeline it is a run of.", graphql_type=Pipeline | None)
    def pipeline(self, info: Info) -> Resolved[Entity | None]:
        return self.related_entity(info, "runOf", "pipeline")


@kind_type("deployment")
@strawberry.type(description="A component shipped to an environment.")
class Deployment(Entity):
    @strawberry.field(description="success, failure, in_progress, ...")
    def status(self) -> str | None:
        return _text(self._spec, "status")

    @strawberry.field(description="The commit deployed.")
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

    @strawberry.field(description="Where to see it, when the source knows.")
    def url(self) -> str | None:
        return _text(self._spec, "url")

    @strawberry.field(description="The component it deploys.", graphql_type=ComponentType | None)
    def component(self, info: Info) -> Resolved[Entity | None]:
        return self.related_entity(info, "deploys", "component")

    @strawberry.field(
        description="The environment it went to.", graphql_type=Optional["Environment"]
    )
    def environment(self, info: Info) -> Resolved[Entity | None]:
        return self.related_entity(info, "deployedTo", "environment")


@kind_type("environment")
@strawberry.type(description="Where components run: production, staging, ...")
class Environment(Entity):
    @strawberry.field(description="production, staging, ...")
    def type(self) -> str | None:
        return _text(self._spec, "type")

    @strawberry.field(description="Its address, when given.")
    def url(self) -> str | None:
        return _text(self._spec, "url")

    @strawberry.field(description="Components deployed here.", graphql_type=list[ComponentType])
    def components(self, info: Info) -> Resolved[list[Entity]]:
        return self.related_entities(info, "hosts", "component")

    @strawberry.field(
        description="Deployments to it, newest first (by createdAt).",
        graphql_type=list[Deployment],
    )
    async def deployments(self, info: Info, first: int | None = DEFAULT_EVENTS) -> list[Entity]:
        size = page_size(first, DEFAULT_EVENTS)
        found = await settled(self.related_entities(info, "hosts", "deployment"))
        return newest_first(found, "createdAt")[:size]

    @strawberry.field(
        description="Cloud resources deployed to it.", graphql_type=list[ResourceType]
    )
    def resources(self, info: Info) -> Resolved[list[Entity]]:
        return self.related_entities(info, "hosts", "resource")


@kind_type("cloudaccount")
@strawberry.type(description="A cloud account (an AWS account, ...).")
class CloudAccount(Entity):
    @strawberry.field(description="aws, ...")
    def provider(self) -> str | None:
        return _text(self._spec, "provider")

    @strawberry.field(description="The account's id (the AWS account number).")
    def account_id(self) -> str | None:
        return _text(self._spec, "accountId")

    @strawberry.field(description="The account's alias, when it has one.")
    def alias(self) -> str | None:
        return _text(self._spec, "alias")

    @strawberry.field(
        description="Resources in it (partOf it), by ref.", graphql_type=list[ResourceType]
    )
    async def resources(self, info: Info, first: int | None = 25) -> list[Entity]:
        size = page_size(first, 25)
        return (await settled(self.related_entities(info, "hasPart", "resource")))[:size]


@strawberry.type(description="Where a cloud resource lives, from its aws.amazon.com/* annotations.")
class CloudInfo:
    provider: str = strawberry.field(description="The cloud: aws, ...")
    account: str | None = strawberry.field(
        description="The account id, from the annotation or the ARN."
    )
    region: str | None = strawberry.field(description="The region, from the annotation or the ARN.")
    arn: str | None = strawberry.field(description="The resource's ARN, when known.")


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
