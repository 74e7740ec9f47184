"""What the store's run records say about a source, as the scheduler needs it: when it last
started, whether a slot is already done, which runs dead workers left RUNNING, and the
SKIPPED record of a request that found the source busy elsewhere."""

from __future__ import annotations

import logging
from datetime import datetime

from graph.port import GraphStore, RunError, RunRecord
from ingestors.runner import new_run_id

log = logging.getLogger("stagegraph.scheduler")

#: Runs of a source read back to find its previous start (SKIPPED records are passed over).
RECENT = 20


async def recent_runs(store: GraphStore, source: str) -> list[RunRecord]:
    """The source's latest runs, newest first, SKIPPED records left out."""
    return [r for r in await store.get_runs(source, first=RECENT) if r.status != "SKIPPED"]


async def last_start(store: GraphStore, source: str) -> datetime | None:
    """When the source's latest run (any worker's) started; None when unknown (a store
    error is logged, not raised: a schedule can go on without it)."""
    try:
        recent = await recent_runs(store, source)
    except Exception:
        log.exception("could not read the source's runs", extra={"source": source})
        return None
    return recent[0].started_at if recent else None


async def slot_done(store: GraphStore, source: str, slot: datetime) -> bool:
    """Whether a run that started at or after ``slot`` succeeded (another replica's)."""
    return any(
        r.started_at >= slot and r.status in ("SUCCEEDED", "PARTIAL")
        for r in await recent_runs(store, source)
    )


async def fail_orphans(store: GraphStore, source: str, owner: str, now: datetime) -> None:
    """Record as FAILED the runs of the source still RUNNING. Call it holding the source's
    lease: then no live worker is running it, and these were left by one that died."""
    for orphan in await store.get_runs(source, first=100, status="RUNNING"):
        orphan.status = "FAILED"
        orphan.errors = [
            *orphan.errors,
            RunError(
                "the worker running it stopped before it finished and its lease expired; "
                f"worker {owner} took the source over"
            ),
        ]
        orphan.cleanup = "not recorded: the worker stopped before the run ended"
        orphan.finished_at = now
        await store.save_run(orphan)
        log.warning(
            "marked the run of a worker that stopped as FAILED",
            extra={"run_id": orphan.id, "source": source},
        )


async def record_skipped(
    store: GraphStore, source: str, source_type: str, trigger: str, now: datetime, ttl: float
) -> RunRecord:
    """Save the SKIPPED record of a requested run refused because another worker holds the
    source's lease without a recorded run (it is starting, or died recently)."""
    record = RunRecord(
        id=new_run_id(),
        source=source,
        source_type=source_type,
        status="SKIPPED",
        trigger=trigger,
        started_at=now,
        finished_at=now,
        errors=[
            RunError(
                "another worker holds this source's lease; ask again once its run ends "
                f"(a dead worker's lease expires within {ttl:g}s)"
            )
        ],
        cleanup="skipped: the run did not start",
    )
    await store.save_run(record)
    log.info(
        "run requested (%s) skipped: another worker holds the lease",
        trigger,
        extra={"run_id": record.id, "source": source},
    )
    return record
