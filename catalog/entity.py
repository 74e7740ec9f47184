"""The Backstage entity envelope: ``apiVersion``, ``kind``, ``metadata``, ``spec``.

These models check the envelope and metadata rules every kind shares; the per-kind
``spec`` rules live in :mod:`catalog.kinds`, and :func:`catalog.validation.validate_entity`
runs both and turns failures into :class:`~catalog.errors.InvalidEntityError`.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from catalog.refs import (
    DEFAULT_NAMESPACE,
    EntityRef,
    is_valid_kind,
    is_valid_name,
    is_valid_namespace,
)

_TAG = re.compile(r"^[a-z0-9:+#]+(-[a-z0-9:+#]+)*$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")
_KEY_NAME = re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9._-]{0,61}[a-zA-Z0-9])?$")
_API_VERSION = re.compile(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?/[a-z0-9]+$")


def _check_key(key: str, what: str) -> str:
    """Backstage's rule for label and annotation keys: ``[prefix/]name``."""
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        raise ValueError(
            f"{what} key {key!r} has an invalid prefix (use a DNS name like example.com)"
        )
    if not _KEY_NAME.match(name):
        raise ValueError(
            f"{what} key {key!r} is invalid (1-63 of [a-zA-Z0-9] with -_. inside, optional prefix/)"
        )
    return key


class Link(BaseModel):
    """An external hyperlink shown beside the entity."""

    model_config = ConfigDict(frozen=True, extra="allow")

    url: str = Field(min_length=1, description="Where the link points.")
    title: str | None = Field(default=None, min_length=1, description="Text shown for the link.")
    icon: str | None = Field(default=None, min_length=1, description="A key for a visual icon.")
    type: str | None = Field(
        default=None, min_length=1, description="A machine-readable link type."
    )


class EntityMetadata(BaseModel):
    """``metadata``: identity and descriptive fields common to every kind."""

    model_config = ConfigDict(frozen=True, extra="allow")

    name: str = Field(description="Unique within kind and namespace; 1-63 of [a-zA-Z0-9-_.].")
    namespace: str = Field(default=DEFAULT_NAMESPACE, description="Defaults to `default`.")
    title: str | None = Field(default=None, min_length=1, description="A display name.")
    description: str | None = Field(default=None, description="A human-readable description.")
    labels: dict[str, str] = Field(
        default_factory=dict, description="Key/value pairs for selection."
    )
    annotations: dict[str, str] = Field(
        default_factory=dict, description="Non-identifying metadata."
    )
    tags: list[str] = Field(
        default_factory=list, description="Lowercase single-valued classifiers."
    )
    links: list[Link] = Field(default_factory=list, description="External hyperlinks.")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not is_valid_name(value):
            raise ValueError(
                f"{value!r} is not a valid name: use 1-63 characters of [a-zA-Z0-9], "
                "with - _ . allowed inside"
            )
        return value

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        if not is_valid_namespace(value):
            raise ValueError(
                f"{value!r} is not a valid namespace: use 1-63 characters of [a-zA-Z0-9] and -"
            )
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        for tag in value:
            if not (1 <= len(tag) <= 63) or not _TAG.match(tag):
                raise ValueError(
                    f"tag {tag!r} is invalid: use 1-63 lowercase characters of [a-z0-9:+#], "
                    "words joined by -"
                )
        return value

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: dict[str, str]) -> dict[str, str]:
        for key, label in value.items():
            _check_key(key, "label")
            if label and not _KEY_NAME.match(label):
                raise ValueError(f"label {key!r} has an invalid value {label!r}")
        return value

    @field_validator("annotations")
    @classmethod
    def _annotations(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            _check_key(key, "annotation")
        return value


class Entity(BaseModel):
    """A validated catalog entity in Backstage's shape."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    api_version: str = Field(alias="apiVersion", description="e.g. backstage.io/v1alpha1")
    kind: str = Field(description="Component, API, Resource, System, Domain, Group, User, ...")
    metadata: EntityMetadata
    spec: dict[str, Any] = Field(default_factory=dict, description="Kind-specific fields.")
    relations: list[Any] | None = Field(default=None, description="Ignored on input.", exclude=True)
    status: dict[str, Any] | None = Field(
        default=None, description="Ignored on input.", exclude=True
    )

    @field_validator("api_version")
    @classmethod
    def _api_version(cls, value: str) -> str:
        if not _API_VERSION.match(value):
            raise ValueError(
                f"{value!r} is not of the form group/version, e.g. backstage.io/v1alpha1"
            )
        return value

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        if not is_valid_kind(value):
            raise ValueError(f"{value!r} is not a valid kind (a letter, then letters and digits)")
        return value

    @property
    def ref(self) -> EntityRef:
        return EntityRef(self.kind, self.metadata.namespace, self.metadata.name)

    def to_document(self) -> dict[str, Any]:
        """The entity as Backstage JSON (what the store keeps): ``metadata.namespace`` filled
        in as Backstage does, but ``labels``, ``tags`` and ``links`` only when the descriptor
        wrote them, since Backstage returns an entity without them as written."""
        document = self.model_dump(by_alias=True, exclude_none=True, mode="json")
        written = self.metadata.model_fields_set
        for key in _WRITTEN_ONLY:
            if key not in written:
                document["metadata"].pop(key, None)
        return document


_WRITTEN_ONLY = ("labels", "tags", "links")
