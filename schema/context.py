"""The per-request GraphQL context: the store and fresh DataLoaders."""

from __future__ import annotations

from dataclasses import dataclass, field

import strawberry

from graph.port import GraphStore
from ingestors.contract import SourceConfig
from ingestors.scheduler import Scheduler
from schema.access import Role
from schema.loaders import Loaders


@dataclass
class Context:
    store: GraphStore
    role: Role = "reader"  # from the request's bearer token; see schema.access
    scheduler: Scheduler | None = None  # runs sources on request (runIngestion)
    sources: tuple[SourceConfig, ...] = ()  # the configured sources
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders.for_store(self.store)


Info = strawberry.Info[Context, None]
