"""Run records to and from JSON, shared by the adapters (both keep a run as one document)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from graph.port import KindCount, RunError, RunRecord


def run_to_json(run: RunRecord) -> str:
    return orjson.dumps(
        {
            "id": run.id,
            "source": run.source,
            "source_type": run.source_type,
            "status": run.status,
            "trigger": run.trigger,
            "started_at": run.started_at.isoformat(),
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
            "commit": run.commit,
            "counts": [c.__dict__ for c in run.counts],
            "errors": [e.__dict__ for e in run.errors],
            "warnings": run.warnings,
            "cleanup": run.cleanup,
            "stats": run.stats,
            "skipped": run.skipped,
            "scope": run.scope,
        }
    ).decode()


def run_from_json(text: str | bytes) -> RunRecord:
    data: dict[str, Any] = orjson.loads(text)
    finished = data.get("finished_at")
    return RunRecord(
        id=data["id"],
        source=data["source"],
        source_type=data["source_type"],
        status=data["status"],
        trigger=data["trigger"],
        started_at=datetime.fromisoformat(data["started_at"]),
        finished_at=datetime.fromisoformat(finished) if finished else None,
        commit=data.get("commit"),
        counts=[KindCount(**c) for c in data.get("counts", [])],
        errors=[RunError(**e) for e in data.get("errors", [])],
        warnings=list(data.get("warnings", [])),
        cleanup=data.get("cleanup"),
        stats=dict(data.get("stats", {})),
        skipped=list(data.get("skipped", [])),
        scope=data.get("scope"),
    )
