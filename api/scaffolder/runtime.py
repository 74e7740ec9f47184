"""The scaffolder of a serving or working process, built from the settings."""

from __future__ import annotations

from api.settings import Settings
from graph.port import GraphStore
from ingestors.scheduler import Scheduler, default_owner_id
from scaffolder.actions.contract import Services
from scaffolder.register import location_registrar
from scaffolder.service import Scaffolder


def start_scaffolder(
    store: GraphStore, settings: Settings, *, run_tasks: bool, scheduler: Scheduler | None = None
) -> Scaffolder:
    """The process's scaffolder; with ``run_tasks`` its worker claims and runs tasks. The
    locations ``catalog:register`` adds join ``scheduler`` (the process's own)."""
    services = Services(
        integrations=settings.git_integrations(),
        register=location_registrar(store, scheduler, settings.location_refresh),
    )
    scaffolder = Scaffolder.for_store(
        store,
        default_owner_id(),
        run_tasks=run_tasks,
        services=services,
        timeout=settings.task_timeout,
    )
    scaffolder.start()
    return scaffolder
