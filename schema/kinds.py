"""A GraphQL type per Backstage kind, each implementing ``Entity`` with typed relation
fields. A kind with no type of its own (added by a source) resolves as ``GenericEntity``."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from schema import delivery
from schema.context import Info
from schema.delivery import (
    DELIVERY_TYPES,
    Build,
    CloudAccount,
    CloudInfo,
    Deployment,
    Environment,
    Pipeline,
)
from schema.entity import Entity, Resolved, to_graphql


def _kind_of(ref: str) -> str:
    return ref.split(":", 1)[0].lower()


async def _one(entity: Entity, info: Info, type_: str, kind: str) -> Entity | None:
    refs = [r for r in await entity._related(info, type_) if _kind_of(r) == kind]
    if not refs:
        return None
    stored = await info.context.loaders.entities.load(refs[0])
    return to_graphql(stored) if stored else None


async def _many(entity: Entity, info: Info, type_: str, kind: str | None = None) -> list[Entity]:
    refs = [r for r in await entity._related(info, type_) if kind is None or _kind_of(r) == kind]
    found = await info.context.loaders.entities.load_many(refs)
    return [to_graphql(s) for s in found if s is not None]


@strawberry.type(description="A piece of software: a service, website, library, ...")
class Component(Entity):
    @strawberry.field
    def type(self) -> str | None:
        return self._spec.get("type")

    @strawberry.field
    def lifecycle(self) -> str | None:
        return self._spec.get("lifecycle")

    @strawberry.field
    async def system(self, info: Info) -> Entity | None:
        return await _one(self, info, "partOf", "system")

    @strawberry.field(description="The component this one is part of.")
    async def subcomponent_of(self, info: Info) -> Entity | None:
        return await _one(self, info, "partOf", "component")

    @strawberry.field
    async def subcomponents(self, info: Info) -> list[Entity]:
        return await _many(self, info, "hasPart", "component")

    @strawberry.field(graphql_type=list[Entity])
    def provides_apis(self, info: Info) -> Resolved[list[Entity]]:
        return self.related_entities(info, "providesApi")

    @strawberry.field(graphql_type=list[Entity])
    def consumes_apis(self, info: Info) -> Resolved[list[Entity]]:
        return self.related_entities(info, "consumesApi")

    @strawberry.field(description="The template this component was made from.")
    async def scaffolded_from(self, info: Info) -> Entity | None:
        return await _one(self, info, "scaffoldedFrom", "template")

    @strawberry.field(description="Pipelines that build it.")
    async def pipelines(self, info: Info) -> list[Pipeline]:
        return await delivery.component_pipelines(self, info)

    @strawberry.field(description="Runs of its pipelines, newest first (by startedAt).")
    async def builds(self, info: Info, first: int | None = 10) -> list[Build]:
        return await delivery.component_builds(self, info, first)

    @strawberry.field(description="Its deployments, newest first (by createdAt).")
    async def deployments(self, info: Info, first: int | None = 10) -> list[Deployment]:
        return await delivery.component_deployments(self, info, first)

    @strawberry.field(description="Environments it is deployed to (directly or by deployments).")
    async def environments(self, info: Info) -> list[Environment]:
        return await delivery.component_environments(self, info)

    @strawberry.field(description="Its newest deployment to an environment (name or ref).")
    async def latest_deployment(self, info: Info, environment: str) -> Deployment | None:
        return await delivery.component_latest_deployment(self, info, environment)

    @strawberry.field(description="Resources it depends on (what the cloud says it runs on).")
    async def resources(self, info: Info) -> list[Resource]:
        return await delivery.related(self, info, "dependsOn", "resource", Resource)


@strawberry.type(name="API", description="An interface a component provides or consumes.")
class Api(Entity):
    @strawberry.field
    def type(self) -> str | None:
        return self._spec.get("type")

    @strawberry.field
    def lifecycle(self) -> str | None:
        return self._spec.get("lifecycle")

    @strawberry.field(description="The definition text; null while a remote $text is unresolved.")
    def definition(self) -> str | None:
        value = self._spec.get("definition")
        return value if isinstance(value, str) else None

    @strawberry.field
    async def system(self, info: Info) -> Entity | None:
        return await _one(self, info, "partOf", "system")

    @strawberry.field
    async def providers(self, info: Info) -> list[Entity]:
        return await _many(self, info, "apiProvidedBy")

    @strawberry.field
    async def consumers(self, info: Info) -> list[Entity]:
        return await _many(self, info, "apiConsumedBy")


@strawberry.type(description="Infrastructure a component needs: a database, queue, bucket, ...")
class Resource(Entity):
    @strawberry.field
    def type(self) -> str | None:
        return self._spec.get("type")

    @strawberry.field
    async def system(self, info: Info) -> Entity | None:
        return await _one(self, info, "partOf", "system")

    @strawberry.field(description="Cloud provider, account, region and ARN; null when not cloud.")
    def cloud(self) -> CloudInfo | None:
        return delivery.cloud_info(self._metadata.get("annotations") or {})

    @strawberry.field(description="The cloud account it is part of.")
    async def account(self, info: Info) -> CloudAccount | None:
        return await delivery.resource_account(self, info)

    @strawberry.field(description="Environments it is deployed to.")
    async def environments(self, info: Info) -> list[Environment]:
        return await delivery.resource_environments(self, info)


@strawberry.type(description="A collection of components, APIs and resources.")
class System(Entity):
    @strawberry.field
    async def domain(self, info: Info) -> Entity | None:
        return await _one(self, info, "partOf", "domain")

    @strawberry.field
    async def components(self, info: Info) -> list[Entity]:
        return await _many(self, info, "hasPart", "component")

    @strawberry.field
    async def apis(self, info: Info) -> list[Entity]:
        return await _many(self, info, "hasPart", "api")

    @strawberry.field
    async def resources(self, info: Info) -> list[Entity]:
        return await _many(self, info, "hasPart", "resource")


@strawberry.type(description="A business area grouping systems.")
class Domain(Entity):
    @strawberry.field
    async def subdomain_of(self, info: Info) -> Entity | None:
        return await _one(self, info, "partOf", "domain")

    @strawberry.field
    async def systems(self, info: Info) -> list[Entity]:
        return await _many(self, info, "hasPart", "system")


@strawberry.type(description="A team or other organisational unit.")
class Group(Entity):
    @strawberry.field
    def type(self) -> str | None:
        return self._spec.get("type")

    @strawberry.field
    def profile(self) -> JSON | None:
        return JSON(self._spec.get("profile"))

    @strawberry.field
    async def parent(self, info: Info) -> Entity | None:
        return await _one(self, info, "childOf", "group")

    @strawberry.field
    async def children(self, info: Info) -> list[Entity]:
        return await _many(self, info, "parentOf")

    @strawberry.field
    async def members(self, info: Info) -> list[Entity]:
        return await _many(self, info, "hasMember")

    @strawberry.field
    async def owner_of(self, info: Info) -> list[Entity]:
        return await _many(self, info, "ownerOf")


@strawberry.type(description="A person.")
class User(Entity):
    @strawberry.field
    def profile(self) -> JSON | None:
        return JSON(self._spec.get("profile"))

    @strawberry.field
    async def member_of(self, info: Info) -> list[Entity]:
        return await _many(self, info, "memberOf")

    @strawberry.field
    async def owner_of(self, info: Info) -> list[Entity]:
        return await _many(self, info, "ownerOf")


@strawberry.type(description="A scaffolder template new projects start from.")
class Template(Entity):
    @strawberry.field
    def type(self) -> str | None:
        return self._spec.get("type")

    @strawberry.field
    def parameters(self) -> JSON | None:
        return JSON(self._spec.get("parameters"))

    @strawberry.field
    def steps(self) -> JSON:
        return JSON(self._spec.get("steps", []))

    @strawberry.field(description="Entities made from this template.")
    async def scaffolded(self, info: Info) -> list[Entity]:
        return await _many(self, info, "scaffolderOf")


@strawberry.type(description="A pointer to more descriptors.")
class Location(Entity):
    @strawberry.field
    def targets(self) -> list[str]:
        spec = self._spec
        found = list(spec.get("targets") or [])
        if spec.get("target"):
            found.append(spec["target"])
        return [str(t) for t in found]


@strawberry.type(description="An entity of a kind without a type of its own.")
class GenericEntity(Entity):
    @strawberry.field
    def spec(self) -> JSON:
        return JSON(self._spec)


_TYPES: dict[str, type[Entity]] = {
    "component": Component,
    "api": Api,
    "resource": Resource,
    "system": System,
    "domain": Domain,
    "group": Group,
    "user": User,
    "template": Template,
    "location": Location,
    **DELIVERY_TYPES,
}
ALL_TYPES: tuple[type[Entity], ...] = (*_TYPES.values(), GenericEntity)


def type_for_kind(kind: str) -> type[Entity]:
    return _TYPES.get(kind.lower(), GenericEntity)
