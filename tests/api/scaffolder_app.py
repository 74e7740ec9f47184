"""The real app over httpx's ASGI transport for the scaffolder REST API tests: on a given
store, no scheduler (tasks stay as the test leaves them), one token of the role asked."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from api.app import create_app
from api.auth import TokenEntry, hash_token
from api.settings import Settings
from graph.port import GraphStore

BASE = "http://test/api/scaffolder/v2"


@asynccontextmanager
async def scaffolder_client(
    store: GraphStore, tmp_path: Path, role: str = "reader", name: str = "portal"
) -> AsyncIterator[httpx.AsyncClient]:
    token = f"sg_{role}-" + secrets.token_urlsafe(24)
    settings = Settings(
        store=f"sqlite:///{tmp_path / 'unused.db'}",
        scheduler=False,
        tokens=[TokenEntry(name=name, sha256=hash_token(token), role=role)],
    )
    app = create_app(settings, store=store)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url=BASE,
            headers={"Authorization": f"Bearer {token}"},
        ) as client,
    ):
        yield client
