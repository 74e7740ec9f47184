"""Per-kind ``spec`` rules for the nine Backstage kinds, and the relation fields of each.

A kind's spec model checks the fields Backstage requires (``spec.type`` of a Component,
``spec.children`` of a Group, ...) and lets unknown fields through, as Backstage does.
The kinds sources add (Pipeline, Build, Deployment, Environment, CloudAccount; apiVersion
``stagegraph.dev/v1alpha1``) have spec models too, described in :mod:`catalog.delivery`.
Any other kind has no spec model and any spec is accepted.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from catalog.descriptors import is_placeholder


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow", populate_by_name=True)


class ComponentSpec(_Spec):
    type: str = Field(min_length=1, description="service, website, library, ...")
    lifecycle: str = Field(min_length=1, description="experimental, production, deprecated, ...")
    owner: str = Field(min_length=1, description="Ref of the owning group or user.")
    system: str | None = Field(default=None, min_length=1)
    subcomponent_of: str | None = Field(default=None, min_length=1, alias="subcomponentOf")
    provides_apis: list[str] | None = Field(default=None, alias="providesApis")
    consumes_apis: list[str] | None = Field(default=None, alias="consumesApis")
    depends_on: list[str] | None = Field(default=None, alias="dependsOn")
    dependency_of: list[str] | None = Field(default=None, alias="dependencyOf")


class ApiSpec(_Spec):
    type: str = Field(min_length=1, description="openapi, asyncapi, graphql, grpc, ...")
    lifecycle: str = Field(min_length=1)
    owner: str = Field(min_length=1)
    system: str | None = Field(default=None, min_length=1)
    definition: str | dict[str, str] | None = Field(
        default=None, description="The API definition, or an unresolved remote $text placeholder."
    )
    remotes: list[dict[str, Any]] | None = Field(default=None, description="mcp-server endpoints.")

    @model_validator(mode="after")
    def _definition_or_remotes(self) -> ApiSpec:
        if self.type == "mcp-server":
            if not self.remotes:
                raise ValueError("an mcp-server API needs spec.remotes (a non-empty list)")
            for index, remote in enumerate(self.remotes):
                for key in ("type", "url"):
                    if not isinstance(remote.get(key), str) or not remote[key]:
                        raise ValueError(
                            f"spec.remotes[{index}].{key} is required (a non-empty string)"
                        )
        elif self.definition is None:
            raise ValueError("spec.definition is required (a string, or {$text: ./file})")
        elif isinstance(self.definition, dict) and not is_placeholder(self.definition):
            raise ValueError(
                "spec.definition must be a string or a single {$text: ...} placeholder"
            )
        elif isinstance(self.definition, str) and not self.definition:
            raise ValueError("spec.definition must not be empty")
        return self


class ResourceSpec(_Spec):
    type: str = Field(min_length=1)
    owner: str = Field(min_length=1)
    system: str | None = Field(default=None, min_length=1)
    account: str | None = Field(
        default=None, min_length=1, description="Ref of the CloudAccount it is part of."
    )
    environment: str | list[str] | None = Field(
        default=None, description="Ref(s) of the Environment(s) it is deployed to."
    )
    depends_on: list[str] | None = Field(default=None, alias="dependsOn")
    dependency_of: list[str] | None = Field(default=None, alias="dependencyOf")


class SystemSpec(_Spec):
    owner: str = Field(min_length=1)
    domain: str | None = Field(default=None, min_length=1)
    type: str | None = Field(default=None, min_length=1)


class DomainSpec(_Spec):
    owner: str = Field(min_length=1)
    subdomain_of: str | None = Field(default=None, min_length=1, alias="subdomainOf")
    type: str | None = Field(default=None, min_length=1)


class GroupSpec(_Spec):
    type: str = Field(min_length=1, description="team, business-unit, product-area, ...")
    profile: dict[str, Any] | None = None
    parent: str | None = Field(default=None, min_length=1)
    children: list[str] = Field(description="Refs of child groups (may be empty).")
    members: list[str] | None = None


class UserSpec(_Spec):
    profile: dict[str, Any] | None = None
    member_of: list[str] = Field(alias="memberOf", description="Refs of the user's groups.")


class LocationSpec(_Spec):
    type: str | None = Field(default=None, min_length=1)
    target: str | None = Field(default=None, min_length=1)
    targets: list[str] | None = None
    presence: str | None = Field(default=None, pattern="^(required|optional)$")


class TemplateSpec(_Spec):
    type: str = Field(min_length=1)
    owner: str | None = Field(default=None, min_length=1)
    lifecycle: str | None = None
    parameters: dict[str, Any] | list[Any] | None = None
    steps: list[dict[str, Any]] = Field(description="The scaffolder steps to run.")
    output: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _steps_have_actions(self) -> TemplateSpec:
        for index, step in enumerate(self.steps):
            if not isinstance(step.get("action"), str):
                raise ValueError(f"spec.steps[{index}].action is required (e.g. fetch:template)")
        return self


class PipelineSpec(_Spec):
    type: str = Field(min_length=1, description="github-actions, gitlab-ci, jenkins, ...")
    owner: str | None = Field(default=None, min_length=1)
    system: str | None = Field(default=None, min_length=1)
    components: list[str] | None = Field(
        default=None, description="Refs of the components it builds (each is builtBy it)."
    )
    repository: str | None = Field(default=None, description="owner/repo of its repository.")
    path: str | None = Field(default=None, description="Its file in the repository.")
    url: str | None = None


class BuildSpec(_Spec):
    pipeline: str = Field(min_length=1, description="Ref of the Pipeline it is a run of.")
    status: str = Field(min_length=1, description="queued, in_progress, completed, ...")
    conclusion: str | None = Field(default=None, description="success, failure, ...")
    number: int | None = None
    branch: str | None = None
    commit: str | None = None
    started_at: str | None = Field(default=None, alias="startedAt", description="ISO 8601, UTC.")
    duration_seconds: float | None = Field(default=None, alias="durationSeconds")
    url: str | None = None


class DeploymentSpec(_Spec):
    component: str = Field(min_length=1, description="Ref of the Component it deploys.")
    environment: str = Field(min_length=1, description="Ref of the Environment it went to.")
    status: str | None = Field(default=None, description="success, failure, in_progress, ...")
    commit: str | None = None
    ref: str | None = Field(default=None, description="The branch or tag deployed.")
    created_at: str | None = Field(default=None, alias="createdAt", description="ISO 8601, UTC.")
    creator: str | None = None
    url: str | None = None


class EnvironmentSpec(_Spec):
    type: str | None = Field(default=None, description="production, staging, ...")
    owner: str | None = Field(default=None, min_length=1)
    components: list[str] | None = Field(
        default=None, description="Refs of the components deployed here (each deployedTo it)."
    )
    url: str | None = None


class CloudAccountSpec(_Spec):
    provider: str = Field(min_length=1, description="aws, ...")
    account_id: str = Field(min_length=1, alias="accountId")
    owner: str | None = Field(default=None, min_length=1)
    alias: str | None = None


_BACKSTAGE = frozenset({"backstage.io/v1alpha1", "backstage.io/v1beta1"})
_STAGEGRAPH = frozenset({"stagegraph.dev/v1alpha1"})

#: kind (lowercase) -> (spec model, accepted apiVersions)
KIND_SPECS: dict[str, tuple[type[_Spec], frozenset[str]]] = {
    "component": (ComponentSpec, frozenset({"backstage.io/v1alpha1", "backstage.io/v1beta1"})),
    "api": (ApiSpec, frozenset({"backstage.io/v1alpha1", "backstage.io/v1beta1"})),
    "resource": (ResourceSpec, frozenset({"backstage.io/v1alpha1", "backstage.io/v1beta1"})),
    "system": (SystemSpec, frozenset({"backstage.io/v1alpha1", "backstage.io/v1beta1"})),
    "domain": (DomainSpec, frozenset({"backstage.io/v1alpha1", "backstage.io/v1beta1"})),
    "group": (GroupSpec, frozenset({"backstage.io/v1alpha1", "backstage.io/v1beta1"})),
    "user": (UserSpec, frozenset({"backstage.io/v1alpha1", "backstage.io/v1beta1"})),
    "location": (LocationSpec, frozenset({"backstage.io/v1alpha1", "backstage.io/v1beta1"})),
    "template": (TemplateSpec, frozenset({"scaffolder.backstage.io/v1beta3"})),
    "pipeline": (PipelineSpec, _STAGEGRAPH | _BACKSTAGE),
    "build": (BuildSpec, _STAGEGRAPH | _BACKSTAGE),
    "deployment": (DeploymentSpec, _STAGEGRAPH | _BACKSTAGE),
    "environment": (EnvironmentSpec, _STAGEGRAPH | _BACKSTAGE),
    "cloudaccount": (CloudAccountSpec, _STAGEGRAPH | _BACKSTAGE),
}

#: The nine Backstage kinds with their canonical spelling.
CORE_KINDS: dict[str, str] = {
    "component": "Component",
    "api": "API",
    "resource": "Resource",
    "system": "System",
    "domain": "Domain",
    "group": "Group",
    "user": "User",
    "location": "Location",
    "template": "Template",
}

#: Kinds that sources other than descriptors add; entities like any other.
SOURCE_KINDS: dict[str, str] = {
    "pipeline": "Pipeline",
    "build": "Build",
    "deployment": "Deployment",
    "environment": "Environment",
    "cloudaccount": "CloudAccount",
}

#: Kinds whose owner CODEOWNERS may supply when ``spec.owner`` is missing.
OWNABLE_BY_CODEOWNERS = frozenset({"component", "api", "resource", "system"})
