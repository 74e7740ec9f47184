"""``taskEvents`` over ``graphql-transport-ws`` on a real ``stagegraph serve``: a websocket
with a wrong token in its handshake is refused before any operation runs when tokens are
configured (one without a token at all is refused at connection_init:
tests/api/test_catalog_subscription.py); with a valid one, the subscription streams a task's
events to its completion."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from api.auth import hash_token
from graph import open_store
from ingestors.git import ingest_git
from scaffolder.tasks import create_task
from tests.api.server import running_server
from tests.scaffolder.helpers import template_repo

TOKEN = "sg_ws-reader-token-0123456789abc"
SUBSCRIBE = "subscription($id: ID!) { taskEvents(id: $id) { type status message } }"


async def _prepare(store_url: str, tmp_path: Path) -> str:
    store = open_store(store_url)
    await store.setup()
    try:
        repo = template_repo(tmp_path)
        await ingest_git(
            store, str(repo.path), name="templates", paths=["example-nodejs-template/template.yaml"]
        )
        values = {"name": "x", "repoUrl": "github.com?owner=acme&repo=x"}
        return (await create_task(store, "example-nodejs-template", values, dry_run=True)).id
    finally:
        await store.close()


def test_task_events_over_graphql_transport_ws(tmp_path: Path) -> None:
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    task_id = asyncio.run(_prepare(store_url, tmp_path))
    tokens = json.dumps([{"name": "portal", "sha256": hash_token(TOKEN), "role": "reader"}])

    with running_server(store_url, environ={"STAGEGRAPH_TOKENS": tokens}) as base:
        url = base.replace("http://", "ws://") + "/graphql"
        with pytest.raises(InvalidStatus) as refused:  # a wrong header: no handshake
            connect(
                url,
                subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                additional_headers={"Authorization": "Bearer sg_not-the-token"},
            )
        with connect(
            url,
            subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
            additional_headers={"Authorization": f"Bearer {TOKEN}"},
        ) as ws:
            ws.send(json.dumps({"type": "connection_init"}))
            assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
            payload = {"query": SUBSCRIBE, "variables": {"id": task_id}}
            ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
            events = []
            while (message := json.loads(ws.recv(timeout=20)))["type"] == "next":
                events.append(message["payload"]["data"]["taskEvents"])

    assert refused.value.response.status_code == 403
    assert message["type"] == "complete"
    assert events[-1]["type"] == "completion" and events[-1]["status"] == "completed"
    assert json.dumps(events).count("Beginning step") == 4
