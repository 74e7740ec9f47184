"""How a ``type: git`` source reads in ``stagegraph.yaml``::

- name: acme-catalog
  type: git
  url: https://github.com/acme/catalog.git    # or a local path
  ref: main                                   # default: HEAD
  paths: [catalog/]                           # default: every catalog-info.yaml
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ingestors.contract import SourceConfig
from ingestors.git.targets import repository_key


class GitSource(SourceConfig):
    """A git repository (URL or local path) or a plain folder of descriptors."""

    type: Literal["git"] = "git"
    url: str = Field(min_length=1, description="Repository URL or local path.")
    ref: str | None = Field(default=None, description="Branch, tag or commit; default HEAD.")
    paths: tuple[str, ...] = Field(
        default=(), description="Entry files or folders; default every catalog-info.yaml."
    )

    def reads_repository(self, repository: str) -> bool:
        """Its ``url`` is that repository (its ``paths`` are not compared: a descriptor
        elsewhere can be reached through a Location entity), or, for a local folder, the
        file lies inside it."""
        own = repository_key(self.url)
        return repository == own or (own.startswith("/") and repository.startswith(own + "/"))
