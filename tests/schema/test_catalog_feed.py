"""``catalogChanged``'s filters, both stores: three subscriptions on one feed, by ``ref``,
by ``owner`` (the entity's owner before or after the change) and by ``kind`` with
``runs: false``, each receive exactly the changes they asked for. (Over the wire, with a
real graphql-transport-ws client and a run's status: :mod:`tests.api.test_catalog_subscription`.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

import strawberry

from graph.port import GraphStore
from ingestors.feed import Feed
from ingestors.push import push_entities
from schema.context import Context

FIELDS = "__typename ... on EntityChange { ref change } ... on IngestionRun { id }"
FILTERS = {
    "ref": 'ref: "component:x"',
    "owner": 'owner: "team-a", runs: false',
    "kind": 'kind: "Group", runs: false',
}


def _component(name: str, owner: str, title: str = "") -> dict[str, Any]:
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": name, "title": title or name},
        "spec": {"type": "service", "lifecycle": "production", "owner": owner},
    }


def _group(name: str, title: str = "") -> dict[str, Any]:
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Group",
        "metadata": {"name": name, "title": title or name},
        "spec": {"type": "team", "children": []},
    }


async def _subscribe(
    schema: strawberry.Schema, store: GraphStore, feed: Feed, arguments: str
) -> AsyncGenerator[Any, None]:
    document = f"subscription {{ catalogChanged({arguments}) {{ {FIELDS} }} }}"
    stream = await schema.subscribe(document, context_value=Context(store, feed=feed))
    assert not isinstance(stream, strawberry.types.ExecutionResult), stream.errors
    return stream


async def test_subscriptions_receive_only_the_changes_their_filters_ask_for(
    graphql_schema: strawberry.Schema, store: GraphStore
) -> None:
    feed = Feed(store, interval=0.05)
    received: dict[str, list[tuple[str, str]]] = {name: [] for name in FILTERS}

    async def consume(name: str) -> None:
        async for result in await _subscribe(graphql_schema, store, feed, FILTERS[name]):
            assert result.errors is None, result.errors
            event = result.data["catalogChanged"]
            received[name].append((event.get("ref", event["__typename"]), event.get("change")))

    consumers = [asyncio.create_task(consume(name)) for name in FILTERS]
    try:
        # probes every subscription sees, until each has seen one: then all are live
        for n in range(200):
            await push_entities(
                store, "probe", [_component("x", "team-a", f"{n}"), _group(f"p{n}")]
            )
            await asyncio.sleep(0.1)
            if all(received.values()):
                break
        await asyncio.sleep(0.3)  # the last probes' events arrive
        for events in received.values():
            events.clear()

        await push_entities(store, "feed", [_component("y", "team-b"), _component("z", "team-a")])
        await push_entities(store, "feed", [_component("y", "team-a"), _component("z", "team-b")])
        await push_entities(store, "feed", [_group("team-c")])
        await push_entities(store, "probe", [_component("x", "team-a", "last")])
        for _ in range(100):
            if ("component:default/x", "UPDATED") in received["owner"] and received["kind"]:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # anything more would have arrived
    finally:
        for consumer in consumers:
            consumer.cancel()
        await asyncio.gather(*consumers, return_exceptions=True)
        await feed.close()

    assert received == {
        "ref": [("component:default/x", "UPDATED")],
        "owner": [
            ("component:default/z", "CREATED"),
            ("component:default/y", "UPDATED"),  # owner team-a after
            ("component:default/z", "UPDATED"),  # owner team-a before
            ("component:default/x", "UPDATED"),
        ],
        "kind": [("group:default/team-c", "CREATED")],
    }
