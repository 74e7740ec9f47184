"""Two ``stagegraph worker`` processes sharing one store run 20 tasks: every task exactly
once (one claim, one run of its step), on both stores."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

from graph.port import GraphStore
from ingestors.push import push_entities
from scaffolder.tasks import create_task
from tests.api.server import STAGEGRAPH, env, free_port

TEMPLATE = {
    "apiVersion": "scaffolder.backstage.io/v1beta3",
    "kind": "Template",
    "metadata": {"name": "hello"},
    "spec": {
        "type": "service",
        "owner": "team-a",
        "parameters": {"properties": {"n": {"type": "integer"}}},
        "steps": [
            {"id": "say", "action": "debug:log", "input": {"message": "task ${{ parameters.n }}"}}
        ],
    },
}


async def test_two_worker_processes_run_each_task_exactly_once(
    store: GraphStore, store_url: str, tmp_path: Path
) -> None:
    await push_entities(store, "tests", [TEMPLATE])
    ids = [(await create_task(store, "hello", {"n": n})).id for n in range(20)]
    logs = [(tmp_path / f"worker{i}.log").open("w") for i in range(2)]
    workers = [
        subprocess.Popen(  # noqa: ASYNC220 (started once, not awaited)
            [STAGEGRAPH, "worker", "--store", store_url, "--port", str(free_port())],
            env=env(store_url),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for log in logs
    ]
    for log in logs:
        log.close()
    try:
        deadline = time.monotonic() + 60
        while await store.count_tasks(status="completed") < 20 and time.monotonic() < deadline:  # noqa: ASYNC110 (another process's progress)
            await asyncio.sleep(0.3)
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=20)

    tasks = await store.get_tasks(ids)
    assert sorted(t.status for t in tasks.values()) == ["completed"] * 20
    for task_id in ids:
        events = await store.get_task_events(task_id)
        began = [e for e in events if e.body.get("message") == "Beginning step say"]
        said = [e for e in events if str(e.body.get("message", "")).startswith("task ")]
        assert (len(began), len(said)) == (1, 1), task_id
    owners = {t.owner for t in tasks.values()}
    print(f"\nowners: {len(owners)} workers shared the 20 tasks")
