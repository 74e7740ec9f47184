"""A GraphQL type per Backstage kind, each implementing ``Entity`` with typed relation
fields and registering itself for its kind (:func:`schema.entity.kind_type`). A kind with
no type of its own (added by a source) resolves as ``GenericEntity``; the delivery kinds
are in :mod:`schema.delivery`.

A relation field is one walk (:mod:`schema.related`): a relation name, and the kind of the
other end where the field is typed. ``Component``'s delivery fields chain walks (its
pipelines, then their builds) and sort what they find newest first.
"""

from __future__ import annotations

from typing import Optional

import strawberry
from strawberry.scalars import JSON

from catalog.errors import InvalidRefError
from catalog.refs import parse_ref
from schema.context import Info
from schema.delivery import (
    DEFAULT_EVENTS,
    Build,
    CloudAccount,
    CloudInfo,
    Deployment,
    Environment,
    Pipeline,
    cloud_info,
    newest_first,
)
from schema.entity import Entity, entity_types, kind_type, to_graphql_all
from schema.errors import UserInputError
from schema.inputs import page_size
from schema.related import (
    Resolved,
    entities_at,
    reachable_refs,
    related,
    related_refs,
    settled,
)


@kind_type("component")
@strawberry.type(description="A piece of software: a service, website, library, ...")
class Component(Entity):
    @strawberry.field(description="spec.type: service, website, library, ...")
    def type(self) -> str | None:
        return self._spec.get("type")

    @strawberry.field(description="spec.lifecycle: experimental, production, deprecated, ...")
    def lifecycle(self) -> str | None:
        return self._spec.get("lifecycle")

    @strawberry.field(
        description="The system it is part of (spec.system).", graphql_type=Optional["System"]
    )
    def system(self, info: Info) -> Resolved[Entity | None]:
        return self.related_entity(info, "partOf", "system")

    @strawberry.field(
        description="The component this one is part of.", graphql_type=Optional["Component"]
    )
    def subcomponent_of(self, info: Info) -> Resolved[Entity | None]:
        return self.related_entity(info, "partOf", "component")

    @strawberry.field(
        description="Components that are part of this one (their subcomponentOf).",
        graphql_type=list["Component"],
    )
    def subcomponents(self, info: Info) -> Resolved[list[Entity]]:
        return self.related_entities(info, "hasPart", "component")

    @strawberry.field(description="APIs it provides (spec.providesApis).", graphql_type=list["Api"])
    def provides_apis(self, info: Info) -> Resolved[list[Entity]]:
        return self.related_entities(info, "providesApi", "api")

    @strawberry.field(description="APIs it consumes (spec.consumesApis).", graphql_type=list["Api"])
    def consumes_apis(self, info: Info) -> Resolved[list[Entity]]:
        return self.related_entities(info, "consumesApi", "api")

    @strawberry.field(
        description="The template this component was made from.",
        graphql_type=Optional["Template"],
    )
    def scaffolded_from(self, info: Info) -> Resolved[Entity | None]:
        return self.related_entity(info, "scaffoldedFrom", "template")

    @strawberry.field(description="Pipelines that build it.", graphql_type=list[Pipeline])
    def pipelines(self, info: Info) -> Resolved[list[Entity]]:
        return self.related_entities(info, "builtBy", "pipeline")

    @strawberry.field(
        description="Runs of its pipelines, newest first (by startedAt).",
        graphql_type=list[Build],
    )
    async def builds(self, info: Info, first: int | None = 10) -> list[Entity]:
        size = page_size(first, DEFAULT_EVENTS)
        pipelines = await settled(related_refs(info, [self.stored.key], "builtBy", "pipeline"))
        runs = await settled(related(info, pipelines, "hasRun", "build"))
        return newest_first(to_graphql_all(runs), "startedAt")[:size]

    @strawberry.field(
        description="Its deployments, newest first (by createdAt).",
        graphql_type=list[Deployment],
    )
    async def deployments(self, info: Info, first: int | None = 10) -> list[Entity]:
        return (await self._deployments(info))[: page_size(first, DEFAULT_EVENTS)]

    async def _deployments(self, info: Info) -> list[Entity]:
        found = await settled(self.related_entities(info, "deployedBy", "deployment"))
        return newest_first(found, "createdAt")

    @strawberry.field(
        description="Environments it is deployed to (directly or by deployments).",
        graphql_type=list[Environment],
    )
    async def environments(self, info: Info) -> list[Entity]:
        key = self.stored.key
        deployments = await settled(related_refs(info, [key], "deployedBy", "deployment"))
        found = await settled(related(info, [key, *deployments], "deployedTo", "environment"))
        return to_graphql_all(found)

    @strawberry.field(
        description="Its newest deployment to an environment (name or ref).",
        graphql_type=Deployment | None,
    )
    async def latest_deployment(self, info: Info, environment: str) -> Entity | None:
        """A plain name (``production``) matches the environment's name in any namespace, a
        ref with a namespace (``environment:default/production``) matches exactly."""
        try:
            wanted = parse_ref(
                environment, default_kind="environment", default_namespace=self.stored.namespace
            )
        except InvalidRefError as exc:
            raise UserInputError(
                f"environment: {exc.reason}; give an environment name (production) or ref "
                "(environment:default/production)"
            ) from None
        by_name = "/" not in environment
        for deployment in await self._deployments(info):
            target = deployment._spec.get("environment")
            if not isinstance(target, str):
                continue
            try:
                ref = parse_ref(
                    target,
                    default_kind="environment",
                    default_namespace=deployment.stored.namespace,
                )
            except InvalidRefError:
                continue
            if by_name and ref.kind == wanted.kind and ref.name.lower() == wanted.name.lower():
                return deployment
            if ref.key == wanted.key:
                return deployment
        return None

    @strawberry.field(
        description="Resources it depends on (what the cloud says it runs on).",
        graphql_type=list["Resource"],
    )
    def resources(self, info: Info) -> Resolved[list[Entity]]:
        return self.related_entities(info, "dependsOn", "resource")


@kind_type("api")
@strawberry.type(name="API", description="An interface a component provides or consumes.")
class Api(Entity):
    @strawberry.field(description="spec.type: openapi, asyncapi, graphql, grpc, ...")
    def type(self) -> str | None:
        return self._spec.get("type")

    @strawberry.field(description="spec.lifecycle: experimental, production, deprecated, ...")
    def lifecycle(self) -> str | None:
        return self._spec.get("lifecycle")

    @strawberry.field(description="The definition text; null while a remote $text is unresolved.")
    def definition(self) -> str | None:
        value = self._spec.get("definition")
        return value if isinstance(value, str) else None

    @strawberry.field(
        description="The system it is part of (spec.system).", graphql_type=Optional["System"]
    )
    def system(self, info: Info) -> Resolved[Entity | None]:
        return self.related_entity(info, "partOf", "system")

    @strawberry.field(description="Components that provide it.", graphql_type=list[Component])
    def providers(self, info: Info) -> Resolved[list[Entity]]:
        return self.related_entities(info, "apiProvidedBy", "component")

    @strawberry.field(description="Components that consume it.", graphql_type=list[Component])
    def consumers(self, info: Info) -> Resolved[list[Entity]]:
        return self.related_entities(info, "apiConsumedBy", "component")


@kind_type("resource")
@strawberry.type(description="Infrastructure a component needs: a database, queue, bucket, ...")
class Resource(Entity):
    @strawberry.field(description="spec.type: database, s3-bucket, queue, ...")
    def type(self) -> str | None:
        return self._spec.get("type")

    @strawberry.field(
        description="The system it is part of (spec.system).", graphql_type=Optional["System"]
    )
    def system(self, info: Info) -> Resolved[Entity | None]:
        return self.related_entity(info, "partOf", "system")

    @strawberry.field(description="Cloud provider, account, region and ARN; null when not cloud.")
    def cloud(self) -> CloudInfo | None:
        return cloud_info(self._metadata.get("annotations") or {})

    @strawberry.field(
        description="The cloud account it is part of.", graphql_type=CloudAccount | None
    )
    def account(self, info: Info) -> Resolved[Entity | None]:
        return self.related_entity(info, "partOf", "cloudaccount")

    @strawberry.field(description="Environments it is deployed to.", graphql_type=list[Environment])
    def environments(self, info: Info) -> Resolved[list[Entity]]:
        return self.related_entities(info, "deployedTo", "environment")


@kind_type("system")
@strawberry.type(description="A collection of components, APIs and resources.")
class System(Entity):
    @strawberry.field(description="spec.type, when given.")
    def type(self) -> str | None:
        return self._spec.get("type")

    @strawberry.field(
        description="The domain it is part of (spec.domain).", graphql_type=Optional["Domain"]
    )
    def domain(self, info: Info) -> Resolved[Entity | None]:
        return self.related_entity(info, "partOf", "domain")

    @strawberry.field(description="Components that are part of it.", graphql_type=list[Component])
    def components(self, info: Info) -> Resolved[list[Entity]]:
        return self.related_entities(info, "hasPart", "component")

    @strawberry.field(description="APIs that are part of it.", graphql_type=list[Api])
    def apis(self, info: Info) -> Resolved[list[Entity]]:
        return self.related_entities(info, "hasPart", "api")

    @strawberry.field(description="Resources that are part of it.", graphql_type=list[Resource])
    def resources(self, info: Info) -> Resolved[list[Entity]]:
        return self.related_entities(info, "hasPart", "resource")


@kind_type("domain")
@strawberry.type(description="A business area grouping systems.")
class Domain(Entity):
    @strawberry.field(description="spec.type, when given.")
    def type(self) -> str | None:
        return self._spec.get("type")

    @strawberry.field(
        description="The domain this one is part of (spec.subdomainOf).",
        graphql_type=Optional["Domain"],
    )
    def subdomain_of(self, info: Info) -> Resolved[Entity | None]:
        return self.related_entity(info, "partOf", "domain")

    @strawberry.field(description="Systems that are part of it.", graphql_type=list[System])
    def systems(self, info: Info) -> Resolved[list[Entity]]:
        return self.related_entities(info, "hasPart", "system")


@kind_type("group")
@strawberry.type(description="A team or other organisational unit.")
class Group(Entity):
    @strawberry.field(description="spec.type: team, business-unit, product-area, ...")
    def type(self) -> str | None:
        return self._spec.get("type")

    @strawberry.field(description="spec.profile (displayName, email, picture), as JSON.")
    def profile(self) -> JSON | None:
        return JSON(self._spec.get("profile"))

    @strawberry.field(description="The group above it (childOf).", graphql_type=Optional["Group"])
    def parent(self, info: Info) -> Resolved[Entity | None]:
        return self.related_entity(info, "childOf", "group")

    @strawberry.field(
        description="The groups directly below it (parentOf); see descendants for all.",
        graphql_type=list["Group"],
    )
    def children(self, info: Info) -> Resolved[list[Entity]]:
        return self.related_entities(info, "parentOf", "group")

    @strawberry.field(description="Users that are members of it.", graphql_type=list["User"])
    def members(self, info: Info) -> Resolved[list[Entity]]:
        return self.related_entities(info, "hasMember", "user")

    @strawberry.field(
        description="Every group below this one (its children, their children, ...), flat, "
        "each once, in ref order; safe on a cycle in the team tree. Costs one store query "
        "per level of the tree below it, where nested `children` cost one per level asked.",
        graphql_type=list["Group"],
    )
    async def descendants(self, info: Info) -> list[Entity]:
        refs = await reachable_refs(info, self.stored.key, "parentOf", "group")
        return to_graphql_all(await settled(entities_at(info, refs)))

    @strawberry.field(description="Entities it owns.", graphql_type=list[Entity])
    def owner_of(self, info: Info) -> Resolved[list[Entity]]:
        return self.related_entities(info, "ownerOf")


@kind_type("user")
@strawberry.type(description="A person.")
class User(Entity):
    @strawberry.field(description="spec.profile (displayName, email, picture), as JSON.")
    def profile(self) -> JSON | None:
        return JSON(self._spec.get("profile"))

    @strawberry.field(description="Groups it is a member of.", graphql_type=list[Group])
    def member_of(self, info: Info) -> Resolved[list[Entity]]:
        return self.related_entities(info, "memberOf", "group")

    @strawberry.field(description="Entities it owns.", graphql_type=list[Entity])
    def owner_of(self, info: Info) -> Resolved[list[Entity]]:
        return self.related_entities(info, "ownerOf")


@kind_type("template")
@strawberry.type(description="A scaffolder template new projects start from.")
class Template(Entity):
    @strawberry.field(description="spec.type: what the template makes (service, website, ...).")
    def type(self) -> str | None:
        return self._spec.get("type")

    @strawberry.field(description="spec.parameters: the form (JSON Schema pages), as JSON.")
    def parameters(self) -> JSON | None:
        return JSON(self._spec.get("parameters"))

    @strawberry.field(description="spec.steps: the scaffolder actions it runs, as JSON.")
    def steps(self) -> JSON:
        return JSON(self._spec.get("steps", []))

    @strawberry.field(description="Entities made from this template.", graphql_type=list[Entity])
    def scaffolded(self, info: Info) -> Resolved[list[Entity]]:
        return self.related_entities(info, "scaffolderOf")

    @strawberry.field(
        description="Entities made from this template (scaffolderOf).", graphql_type=list[Entity]
    )
    def created_entities(self, info: Info) -> Resolved[list[Entity]]:
        return self.related_entities(info, "scaffolderOf")

    @strawberry.field(
        description="The parameters as Backstage's front end reads them: title, description "
        "and one step (a JSON Schema page) per page of the form."
    )
    def parameter_schema(self) -> JSON:
        parameters = self._spec.get("parameters") or []
        pages = parameters if isinstance(parameters, list) else [parameters]
        metadata = self.stored.document.get("metadata", {})
        return JSON(
            {
                "title": metadata.get("title") or metadata.get("name"),
                "description": metadata.get("description", ""),
                "steps": [
                    {
                        "title": page.get("title", ""),
                        "description": page.get("description", ""),
                        "schema": page,
                    }
                    for page in pages
                    if isinstance(page, dict)
                ],
            }
        )


@kind_type("location")
@strawberry.type(description="A pointer to more descriptors.")
class Location(Entity):
    @strawberry.field(description="spec.target and spec.targets: the descriptors it points at.")
    def targets(self) -> list[str]:
        spec = self._spec
        found = list(spec.get("targets") or [])
        if spec.get("target"):
            found.append(spec["target"])
        return [str(t) for t in found]


ALL_TYPES: tuple[type[Entity], ...] = entity_types()
"""Every kind type (this module imports :mod:`schema.delivery`, so its kinds are in), for
``strawberry.Schema(types=...)``."""
