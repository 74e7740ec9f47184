"""The per-request GraphQL context: the store and fresh DataLoaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import strawberry

from catalog.rules import KindRules
from graph.port import GraphStore
from ingestors.contract import SourceConfig
from ingestors.feed import Feed
from ingestors.scheduler import Scheduler
from scaffolder.service import Scaffolder
from schema.access import Role, WriteScope
from schema.loaders import Loaders


@dataclass
class Context:
    store: GraphStore
    role: Role = "reader"  # from the request's bearer token; see schema.access
    principal: str = "anonymous"  # who holds that token (named in refusals)
    scope: WriteScope | None = None  # where its pushes may write; None: anywhere
    scheduler: Scheduler | None = None  # runs sources on request (runIngestion)
    sources: tuple[SourceConfig, ...] = ()  # the configured sources
    scaffolder: Scaffolder | None = None  # creates tasks and runs them here (None: elsewhere)
    kinds: KindRules = field(default_factory=KindRules)  # the kinds pushes may write
    feed: Feed | None = None  # the process's catalog feed (None: a subscription polls alone)
    connection_params: dict[str, Any] | None = None  # a websocket's connection_init payload
    plan_pages: bool = True  # entities pages answer planned relations in one store call
    compiled: bool = True  # objects complete through schema.compiled's closures
    summaries: bool = True  # entities whose selection needs no document are read without it
    summary_reads: int = 0  # store reads it answered with summaries
    compiled_objects: int = 0  # objects (with all below them) it completed
    compiled_fallbacks: int = 0  # objects it left to graphql-core after trying
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders.for_store(self.store)


Info = strawberry.Info[Context, None]
