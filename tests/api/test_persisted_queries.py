"""Apollo's automatic persisted queries on the real app (in process, over httpx's ASGI
transport): a hash alone runs a known document; an unknown hash asks for the document."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import httpx

from api.app import create_app
from api.settings import Settings

QUERY = "{ entities { totalCount } }"
HASH = hashlib.sha256(QUERY.encode()).hexdigest()


def _persisted(digest: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


async def test_a_hash_runs_the_document_sent_with_it_once(tmp_path: Path) -> None:
    settings = Settings(store=f"sqlite:///{tmp_path / 'store.db'}", anonymous_read=True)
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)

    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        unknown = await client.post("/graphql", json={"extensions": _persisted(HASH)})
        taught = await client.post(
            "/graphql", json={"query": QUERY, "extensions": _persisted(HASH)}
        )
        by_hash = await client.post("/graphql", json={"extensions": _persisted(HASH)})
        wrong = await client.post(
            "/graphql", json={"query": "{ __typename }", "extensions": _persisted(HASH)}
        )
        malformed = await client.post("/graphql", json={"extensions": _persisted("abc")})

    assert unknown.status_code == 200
    assert unknown.json() == {
        "errors": [
            {
                "message": "PersistedQueryNotFound",
                "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"},
            }
        ]
    }
    assert taught.json() == {"data": {"entities": {"totalCount": 0}}}
    assert by_hash.json() == {"data": {"entities": {"totalCount": 0}}}
    assert wrong.status_code == 400
    assert wrong.json()["errors"][0]["message"].startswith("provided sha does not match query")
    assert malformed.status_code == 400
    assert "64 hex digits" in malformed.json()["errors"][0]["message"]
