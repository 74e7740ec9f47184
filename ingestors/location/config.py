"""How a ``type: location`` source reads: a Backstage location (``type: url`` and a
``target``) read as a git source (:mod:`ingestors.git.targets` says which targets name a
repository). Registered over the catalog API (``POST /api/catalog/locations``, kept in the
store), or written in ``stagegraph.yaml`` as Backstage's ``catalog.locations`` are::

- name: shop
  type: location
  target: https://github.com/acme/shop/blob/main/catalog-info.yaml
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from ingestors.contract import SourceConfig
from ingestors.git.targets import GitTarget, InvalidTargetError, parse_target, repository_key


class LocationSource(SourceConfig):
    """A Backstage ``url`` location: a git repository URL, or a GitHub/GitLab URL of a
    descriptor file or folder."""

    type: Literal["location"] = "location"
    target: str = Field(
        min_length=1,
        description="A git repository URL (https, http, ssh, git@host:…, file://) or a "
        "GitHub/GitLab blob or tree URL of a descriptor file or folder.",
    )
    template: str | None = Field(
        default=None,
        description="A Template entity ref (set by the scaffolder's catalog:register): every "
        "entity read from the location that names no backstage.io/source-template gets this "
        "one, so it is scaffoldedFrom the template on every read.",
    )

    @field_validator("target")
    @classmethod
    def _target_names_a_repository(cls, value: str) -> str:
        try:
            parse_target(value)
        except InvalidTargetError as exc:
            raise PydanticCustomError(
                "location_target", "{message}", {"message": str(exc)}
            ) from None
        return value

    @property
    def git(self) -> GitTarget:
        """The repository, ref and paths the target names."""
        return parse_target(self.target)

    def reads_repository(self, repository: str) -> bool:
        """Its ``target`` names that repository."""
        return repository_key(self.git.url) == repository
