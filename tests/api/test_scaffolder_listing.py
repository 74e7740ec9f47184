"""``GET /api/scaffolder/v2/tasks`` on each store, with the parameters of Backstage's spec:
``createdBy`` and ``status`` repeated for any of several, ``order=<asc|desc>:<field>``
repeated for keys in turn, ``limit`` and ``offset``; bad ones are a 400 saying what to send."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from graph.port import GraphStore, TaskRecord, TaskStep
from tests.api.scaffolder_app import scaffolder_client

T0 = datetime(2026, 3, 1, tzinfo=UTC)
JO, GUEST = "user:default/jo", "user:default/guest"
#: id, minutes after T0, created by, status
TASKS = [
    ("a", 0, JO, "completed"),
    ("b", 1, GUEST, "failed"),
    ("c", 2, "user:default/ann", "completed"),
    ("d", 3, JO, "open"),
    ("e", 4, GUEST, "completed"),
]


@pytest.fixture
async def client(store: GraphStore, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    for task_id, minute, by, status in TASKS:
        await store.save_task(
            TaskRecord(
                id=task_id,
                template="template:default/example-nodejs-template",
                status=status,
                created_at=T0 + timedelta(minutes=minute),
                created_by=by,
                steps=[TaskStep("fetch", "Fetch", "fetch:template")],
            )
        )
    async with scaffolder_client(store, tmp_path) as http:
        yield http


async def _ids(client: httpx.AsyncClient, query: str) -> tuple[list[str], int]:
    response = await client.get(f"/tasks?{query}")
    assert response.status_code == 200, response.text
    body = response.json()
    return [t["id"] for t in body["tasks"]], body["totalTasks"]


async def test_repeated_created_by_and_status_match_any_of_them(
    client: httpx.AsyncClient,
) -> None:
    everyone = await _ids(client, "")
    two_people = await _ids(client, f"createdBy={JO}&createdBy={GUEST}")
    both = await _ids(client, f"createdBy={JO}&createdBy={GUEST}&status=completed&status=failed")
    one = await _ids(client, "status=open")

    assert everyone == (["e", "d", "c", "b", "a"], 5)  # newest first by default
    assert two_people == (["e", "d", "b", "a"], 4)
    assert both == (["e", "b", "a"], 3)
    assert one == (["d"], 1)


async def test_order_keys_apply_in_turn_and_limit_offset_page_them(
    client: httpx.AsyncClient,
) -> None:
    oldest = await _ids(client, "order=asc:created_at")
    newest = await _ids(client, "order=desc:created_at")
    by_status = await _ids(client, "order=asc:status&order=asc:created_at")
    by_creator = await _ids(client, "order=desc:created_by&order=desc:created_at")
    page = await _ids(client, "order=asc:created_at&limit=2&offset=2")
    last = await _ids(client, "status=completed&order=asc:created_at&limit=2&offset=2")

    assert oldest[0] == ["a", "b", "c", "d", "e"]
    assert newest[0] == ["e", "d", "c", "b", "a"]
    assert by_status[0] == ["a", "c", "e", "b", "d"]
    assert by_creator[0] == ["d", "a", "e", "b", "c"]
    assert page == (["c", "d"], 5)  # totalTasks counts every match, not the page
    assert last == (["e"], 3)


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ("order=created_at", 'expected "<asc or desc>:<field name>"'),
        ("order=up:created_at", 'expected "<asc or desc>:<field name>"'),
        ("order=asc:template", 'Invalid order field "template": tasks are ordered by'),
        ("status=done", "Invalid status parameter 'done': use one of open"),
        ("limit=many", "limit and offset must be integers"),
        ("offset=-1", "offset at least 0"),
    ],
)
async def test_bad_listing_parameters_are_a_400_saying_what_to_send(
    client: httpx.AsyncClient, query: str, said: str
) -> None:
    response = await client.get(f"/tasks?{query}")

    assert response.status_code == 400
    assert response.json()["error"]["name"] == "InputError"
    assert said in response.json()["error"]["message"]
