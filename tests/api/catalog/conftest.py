"""The real app over httpx's ASGI transport, on each store, with the Backstage example
catalog loaded and a reader token (the client's default), a writer and an admin token
configured."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from api.auth import TokenEntry, hash_token
from api.settings import Settings
from graph.port import GraphStore
from ingestors.git import ingest_git

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "backstage-examples"
READER_TOKEN = "sg_reader-" + secrets.token_urlsafe(24)
WRITER_TOKEN = "sg_writer-" + secrets.token_urlsafe(24)
ADMIN_TOKEN = "sg_admin-" + secrets.token_urlsafe(24)


@dataclass
class Catalog:
    client: httpx.AsyncClient
    store: GraphStore


async def load_examples(store: GraphStore) -> None:
    run = await ingest_git(
        store, str(FIXTURE), name="backstage", paths=["all.yaml", "acme-corp.yaml"]
    )
    assert run.status == "SUCCEEDED", run.errors


@pytest.fixture
async def catalog(store: GraphStore, tmp_path: Path) -> AsyncIterator[Catalog]:
    await load_examples(store)
    settings = Settings(
        store=f"sqlite:///{tmp_path / 'unused.db'}",
        tokens=[
            TokenEntry(name="portal", sha256=hash_token(READER_TOKEN), role="reader"),
            TokenEntry(name="ci", sha256=hash_token(WRITER_TOKEN), role="writer"),
            TokenEntry(name="ops", sha256=hash_token(ADMIN_TOKEN), role="admin"),
        ],
    )
    app = create_app(settings, store=store)
    headers = {"Authorization": f"Bearer {READER_TOKEN}"}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://test/api/catalog",
            headers=headers,
        ) as client,
    ):
        yield Catalog(client, store)
