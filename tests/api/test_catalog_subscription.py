"""``catalogChanged`` over ``graphql-transport-ws`` on a real ``stagegraph serve``, both stores:
a real client (gql's websockets transport) authenticated in its connection_init payload
receives the changes of an ingestion run, and the run's end, within a second of the run;
a connection_init without a valid token is refused (4403) when tokens are configured."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from gql import Client, gql
from gql.transport.exceptions import TransportConnectionFailed
from gql.transport.websockets import WebsocketsTransport
from gql.transport.websockets_protocol import WebsocketsProtocolTransportBase
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from api.auth import hash_token
from graph.port import GraphStore
from ingestors.git import ingest_git
from ingestors.push import push_entities
from tests.api.server import running_server
from tests.gitrepo import GitRepo, component

TOKEN = "sg_feed-reader-token-0123456789abc"
SUBSCRIBE = """subscription {
  catalogChanged(kind: "component") {
    __typename
    ... on EntityChange { ref change fields runId source }
    ... on IngestionRun { id source status }
  }
}"""


def _probe(n: int) -> dict[str, Any]:
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": "probe", "title": f"probe {n}"},
        "spec": {"type": "service", "lifecycle": "production", "owner": "team-a"},
    }


def _transport(url: str, token: str) -> WebsocketsTransport:
    return WebsocketsTransport(
        url=url,
        init_payload={"Authorization": f"Bearer {token}"},
        subprotocols=[WebsocketsProtocolTransportBase.GRAPHQLWS_SUBPROTOCOL],
    )


async def _follow(url: str, store: GraphStore, repo: GitRepo) -> tuple[list[Any], float, Any]:
    """Subscribe; push a probe until the subscription is seen to be live; then ingest the
    repository and collect events until the run's end. Returns the events after the probes,
    how long after the run the last of its changes arrived, and the run."""
    received: list[tuple[float, dict[str, Any]]] = []
    live = asyncio.Event()
    finished = asyncio.Event()

    async with Client(transport=_transport(url, TOKEN)) as session:

        async def consume() -> None:
            async for result in session.subscribe(gql(SUBSCRIBE)):
                event = result["catalogChanged"]
                received.append((time.monotonic(), event))
                if event.get("ref") == "component:default/probe":
                    live.set()
                if event.get("source") == "repo" and event.get("status") == "SUCCEEDED":
                    finished.set()

        consumer = asyncio.create_task(consume())
        for n in range(100):
            await push_entities(store, "probe", [_probe(n)])
            try:
                await asyncio.wait_for(live.wait(), 0.3)
                break
            except TimeoutError:
                continue
        await asyncio.sleep(0.5)  # the last probes' events arrive
        start = len(received)
        run = await ingest_git(store, str(repo.path), name="repo")
        ended = time.monotonic()
        await asyncio.wait_for(finished.wait(), 10)
        consumer.cancel()
    events = received[start:]
    changes = [at for at, e in events if e["__typename"] == "EntityChange"]
    return [e for _, e in events], max(changes) - ended, run


async def test_a_subscriber_receives_a_runs_changes_within_a_second(
    store: GraphStore, store_url: str, tmp_path: Path
) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.write("a/catalog-info.yaml", component("a"))
    repo.write("b/catalog-info.yaml", component("b"))
    repo.commit()
    tokens = json.dumps([{"name": "portal", "sha256": hash_token(TOKEN), "role": "reader"}])

    with running_server(store_url, environ={"STAGEGRAPH_TOKENS": tokens}) as base:
        url = base.replace("http://", "ws://") + "/graphql"
        events, delay, run = await _follow(url, store, repo)

    assert run.status == "SUCCEEDED"
    changes = [e for e in events if e["__typename"] == "EntityChange"]
    assert sorted((e["ref"], e["change"], e["runId"]) for e in changes) == [
        ("component:default/a", "CREATED", run.id),
        ("component:default/b", "CREATED", run.id),
    ]
    runs = [(e["id"], e["status"]) for e in events if e["__typename"] == "IngestionRun"]
    assert runs[-1] == (run.id, "SUCCEEDED")
    assert delay < 1.0, f"the last change arrived {delay:.2f} s after the run"


async def test_a_connection_init_without_a_valid_token_is_refused(
    store: GraphStore, store_url: str
) -> None:
    tokens = json.dumps([{"name": "portal", "sha256": hash_token(TOKEN), "role": "reader"}])

    with running_server(store_url, environ={"STAGEGRAPH_TOKENS": tokens}) as base:
        url = base.replace("http://", "ws://") + "/graphql"
        async with connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
            await ws.send(json.dumps({"type": "connection_init"}))
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 10)
        with pytest.raises(TransportConnectionFailed):
            async with Client(transport=_transport(url, "sg_not-a-valid-token-000000000000")):
                pass
        async with Client(transport=_transport(url, TOKEN)) as session:
            result = await session.execute(gql("{ changes { totalCount } }"))

    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
    assert result == {"changes": {"totalCount": 0}}
