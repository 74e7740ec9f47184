"""Relay both ways: ``last``/``before`` on ``entities``, ``pageInfo { hasPreviousPage
startCursor }`` on every connection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from catalog.changes import ChangeType, EntityChange
from graph.port import RunRecord, TaskRecord
from tests.factories import record, rel
from tests.schema.conftest import Client

PAGE = """query ($first: Int, $after: String, $last: Int, $before: String, $search: String) {
  entities(first: $first, after: $after, last: $last, before: $before, search: $search) {
    edges { cursor node { ref } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""


async def _page(client: Client, **variables: Any) -> tuple[list[str], dict[str, Any]]:
    data = (await client.query(PAGE, **variables))["entities"]
    return [e["node"]["ref"].split("/")[-1] for e in data["edges"]], data["pageInfo"]


async def test_last_and_before_walk_back_to_the_start(client: Client) -> None:
    names = [f"svc-{i}" for i in range(7)]
    await client.store.upsert_entities(
        "test", "r1", [record(f"component:default/{n}", description="svc") for n in names]
    )

    for search in (None, "svc"):  # in key order, and in relevance order
        forward, _ = await _page(client, first=100, search=search)
        walked: list[str] = []
        refs, info = await _page(client, last=3, search=search)
        assert info["hasNextPage"] is False
        while True:
            walked = refs + walked
            if not info["hasPreviousPage"]:
                break
            refs, info = await _page(client, last=3, before=info["startCursor"], search=search)
            assert info["hasNextPage"] is True
        assert walked == forward

    first, info = await _page(client, first=2)
    assert info["hasPreviousPage"] is False
    assert info["startCursor"] is not None
    second, info = await _page(client, first=2, after=info["endCursor"])
    assert second == names[2:4] and info["hasPreviousPage"] is True
    back, info = await _page(client, last=2, before=info["startCursor"])
    assert back == first and info["hasPreviousPage"] is False and info["hasNextPage"] is True


async def test_after_and_before_together_are_refused(client: Client) -> None:
    errors = await client.errors(PAGE, after="x", before="y")

    assert "not both" in errors[0]["message"]


#: connection -> how an edge's node is named in the walks below
BOTH_WAYS = {
    "danglingRelations": "targetRef",
    "orphans": "entity { ref }",
    "ingestionRuns": "id",
    "changes": "id",
    "tasks": "id",
}


async def _both_ways_catalog(client: Client) -> None:
    """Five orphans, six dangling relations, five runs, five changes, five tasks."""
    names = [f"c{i}" for i in range(5)]
    await client.store.upsert_entities(
        "test", "r1", [record(f"component:default/{n}") for n in names]
    )
    await client.store.upsert_relations(
        "test",
        "r1",
        [rel(f"component:default/{n}", "dependsOn", f"component:default/ghost-{n}") for n in names]
        + [rel("component:default/c2", "ownedBy", "group:default/gone")],
    )
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(5):
        await client.store.save_run(
            RunRecord(f"run-{i}", "a", "git", "SUCCEEDED", "cli", start + timedelta(minutes=i))
        )
        await client.store.save_task(
            TaskRecord(f"task-{i}", "template:default/t", "open", start + timedelta(minutes=i))
        )
    await client.store.record_changes(
        [
            EntityChange(
                f"change-{i}", start, "test", None, "component:default/c0", "component",
                ChangeType.UPDATED, ("spec",), {}, {},
            )
            for i in range(5)
        ]
    )  # fmt: skip


def _leaf(node: Any) -> str:
    """The one value a node was asked for (``{"entity": {"ref": x}}`` -> x)."""
    while isinstance(node, dict):
        (node,) = node.values()
    return str(node)


async def _connection_page(
    client: Client, connection: str, **variables: Any
) -> tuple[list[str], dict[str, Any]]:
    node = BOTH_WAYS[connection]
    query = f"""query ($first: Int, $after: String, $last: Int, $before: String) {{
      {connection}(first: $first, after: $after, last: $last, before: $before) {{
        totalCount edges {{ cursor node {{ {node} }} }}
        pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
      }}
    }}"""
    data = (await client.query(query, **variables))[connection]
    names = [_leaf(edge["node"]) for edge in data["edges"]]
    assert [edge["cursor"] for edge in data["edges"]][:1] == (
        [data["pageInfo"]["startCursor"]] if names else []
    )
    return names, data["pageInfo"]


@pytest.mark.parametrize("connection", list(BOTH_WAYS))
async def test_dangling_orphans_and_runs_page_back_to_the_start(
    client: Client, connection: str
) -> None:
    await _both_ways_catalog(client)
    whole, info = await _connection_page(client, connection, first=100)
    assert len(whole) >= 5 and info["hasPreviousPage"] is False

    walked: list[str] = []
    names, info = await _connection_page(client, connection, last=2)
    assert info["hasNextPage"] is False
    while True:
        walked = names + walked
        if not info["hasPreviousPage"]:
            break
        names, info = await _connection_page(client, connection, last=2, before=info["startCursor"])
        assert info["hasNextPage"] is True
    assert walked == whole

    first, info = await _connection_page(client, connection, first=2)
    second, info = await _connection_page(client, connection, first=2, after=info["endCursor"])
    assert second == whole[2:4] and info["hasPreviousPage"] is True
    back, info = await _connection_page(client, connection, last=2, before=info["startCursor"])
    assert back == first and info["hasPreviousPage"] is False and info["hasNextPage"] is True


@pytest.mark.parametrize("connection", list(BOTH_WAYS))
async def test_after_and_before_together_are_refused_on_every_connection(
    client: Client, connection: str
) -> None:
    errors = await client.errors(f'{{ {connection}(after: "x", before: "y") {{ totalCount }} }}')

    assert "not both" in errors[0]["message"]


async def test_every_connection_has_start_cursor_and_has_previous_page(client: Client) -> None:
    data = await client.query(
        """{ ingestionRuns { pageInfo { hasPreviousPage startCursor } }
             orphans { pageInfo { hasPreviousPage startCursor } }
             danglingRelations { pageInfo { hasPreviousPage startCursor } } }"""
    )

    assert all(
        connection["pageInfo"] == {"hasPreviousPage": False, "startCursor": None}
        for connection in data.values()
    )


async def test_every_connection_has_a_total_count(client: Client) -> None:
    await client.store.upsert_entities(
        "test", "r1", [record("component:default/a"), record("component:default/b")]
    )
    await client.store.upsert_relations(
        "test", "r1", [rel("component:default/a", "dependsOn", "component:default/ghost")]
    )

    data = await client.query(
        """{ entities { totalCount } ingestionRuns { totalCount }
             orphans(first: 1) { totalCount } danglingRelations { totalCount } }"""
    )

    assert data == {
        "entities": {"totalCount": 2},
        "ingestionRuns": {"totalCount": 0},
        "orphans": {"totalCount": 2},
        "danglingRelations": {"totalCount": 1},
    }


ORDERED = """query ($orderBy: EntityOrderBy, $first: Int, $after: String, $last: Int,
                    $before: String) {
  entities(orderBy: $orderBy, first: $first, after: $after, last: $last, before: $before) {
    totalCount edges { node { ref } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""


async def test_order_by_any_field_and_direction_pages_both_ways(client: Client) -> None:
    lifecycles = ["production", "experimental", "deprecated", None, "production", "alpha"]
    await client.store.upsert_entities(
        "test",
        "r1",
        [
            record(f"component:default/c{i}", spec={"lifecycle": lc} if lc else {})
            for i, lc in enumerate(lifecycles)
        ],
    )

    async def walk(order: dict[str, str], **start: Any) -> list[str]:
        data = (await client.query(ORDERED, orderBy=order, first=100))["entities"]
        whole = [e["node"]["ref"].split("/")[-1] for e in data["edges"]]
        forward: list[str] = []
        after = None
        while True:
            page = (await client.query(ORDERED, orderBy=order, first=2, after=after))["entities"]
            forward += [e["node"]["ref"].split("/")[-1] for e in page["edges"]]
            assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        backward: list[str] = []
        before = None
        while True:
            page = (await client.query(ORDERED, orderBy=order, last=4, before=before))["entities"]
            backward = [e["node"]["ref"].split("/")[-1] for e in page["edges"]] + backward
            if not page["pageInfo"]["hasPreviousPage"]:
                break
            before = page["pageInfo"]["startCursor"]
        assert forward == whole == backward, order
        return whole

    # without the field last in either direction, ties by ref
    assert await walk({"field": "spec.lifecycle"}) == ["c5", "c2", "c1", "c0", "c4", "c3"]
    assert await walk({"field": "Spec.Lifecycle", "direction": "DESC"}) == [
        "c0", "c4", "c1", "c2", "c5", "c3",
    ]  # fmt: skip
    assert await walk({"field": "metadata.name", "direction": "DESC"}) == [
        "c5", "c4", "c3", "c2", "c1", "c0",
    ]  # fmt: skip
    assert await walk({"field": "metadata.name"}) == ["c0", "c1", "c2", "c3", "c4", "c5"]


async def test_one_way_orders_are_refused_the_other_way(client: Client) -> None:
    updated = await client.errors(ORDERED, orderBy={"field": "updatedAt"})
    relevance = await client.errors(ORDERED, orderBy={"field": "relevance"})

    assert "give direction: DESC" in updated[0]["message"]
    assert "relevance needs a search" in relevance[0]["message"]
