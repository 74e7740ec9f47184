"""The shared API client against a real HTTP server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from ingestors.http import (
    ApiClient,
    ApiError,
    AuthError,
    ETagCache,
    NotFoundError,
    RateLimitError,
    parse_links,
)
from tests.loopback import (
    LoopbackServer,
    RecordedSleep,
    constant,
    link_pages,
    next_page_pages,
    sequence,
    with_etag,
)

NOW = 1_800_000_000.0


FakeSleep = RecordedSleep


@pytest.fixture
def api() -> Iterator[LoopbackServer]:
    with LoopbackServer() as server:
        yield server


def client(api: LoopbackServer, sleep: FakeSleep | None = None, **options: object) -> ApiClient:
    return ApiClient(
        api.url,
        headers={"Authorization": "Bearer t0ken"},
        sleep=sleep or FakeSleep(),
        cache=ETagCache(),
        clock=lambda: NOW,
        **options,  # type: ignore[arg-type]
    )


async def test_paginate_follows_link_next_to_the_last_page(api: LoopbackServer) -> None:
    repos = [{"id": i} for i in range(7)]
    api.route("GET", "/orgs/acme/repos", link_pages(repos, per_page=3, base_url=lambda: api.url))

    async with client(api) as c:
        got = [r["id"] async for r in c.paginate("/orgs/acme/repos", {"per_page": 3})]

    assert got == list(range(7))
    pages = [r.param("page") for r in api.requests_to("/orgs/acme/repos")]
    assert pages == [None, "2", "3"]
    assert all(r.param("per_page") == "3" for r in api.requests_to("/orgs/acme/repos"))
    assert api.requests[0].headers["authorization"] == "Bearer t0ken"


async def test_paginate_reads_wrapped_lists_and_stops_at_the_limit(api: LoopbackServer) -> None:
    runs = [{"id": i} for i in range(10)]
    api.route(
        "GET",
        "/repos/acme/x/actions/runs",
        link_pages(runs, per_page=4, wrap="workflow_runs", base_url=lambda: api.url),
    )

    async with client(api) as c:
        got = [
            r["id"]
            async for r in c.paginate(
                "repos/acme/x/actions/runs", items=lambda b: b["workflow_runs"], limit=5
            )
        ]

    assert got == [0, 1, 2, 3, 4]
    assert len(api.requests_to("/repos/acme/x/actions/runs")) == 2


async def test_paginate_follows_x_next_page(api: LoopbackServer) -> None:
    api.route("GET", "/api/v4/projects", next_page_pages([{"id": i} for i in range(5)], 2))

    async with client(api) as c:
        got = [p["id"] async for p in c.paginate("/api/v4/projects", {"per_page": 2})]

    assert got == [0, 1, 2, 3, 4]
    assert [r.param("page") for r in api.requests_to("/api/v4/projects")] == [None, "2", "3"]


async def test_retry_after_seconds_and_http_date_are_honoured(api: LoopbackServer) -> None:
    later = format_datetime(datetime.fromtimestamp(NOW, UTC) + timedelta(seconds=12), usegmt=True)
    api.route(
        "GET",
        "/x",
        sequence(
            (429, {"Retry-After": "7"}, {"message": "slow down"}),
            (503, {"Retry-After": later}, None),
            (200, {}, {"ok": True}),
        ),
    )
    sleep = FakeSleep()

    async with client(api, sleep) as c:
        assert await c.get_json("/x") == {"ok": True}

    assert sleep.waits == [7.0, 12.0]
    assert c.stats.retries == 2
    assert c.stats.calls == 3


async def test_primary_rate_limit_waits_until_reset(api: LoopbackServer) -> None:
    reset = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW) + 30)}
    api.route(
        "GET",
        "/user",
        sequence(
            (403, reset, {"message": "API rate limit exceeded for user."}),
            (200, {"X-RateLimit-Remaining": "4999", "X-RateLimit-Reset": "1"}, {"login": "x"}),
        ),
    )
    sleep = FakeSleep()

    async with client(api, sleep) as c:
        assert await c.get_json("/user") == {"login": "x"}

    assert sleep.waits == [31.0]
    assert c.stats.rate_limit_remaining == 4999


async def test_primary_rate_limit_past_max_wait_fails_clearly(api: LoopbackServer) -> None:
    reset = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW) + 3600)}
    api.route("GET", "/user", (403, reset, {"message": "API rate limit exceeded"}))
    sleep = FakeSleep()

    async with client(api, sleep, max_wait=60.0) as c:
        with pytest.raises(RateLimitError) as caught:
            await c.get("/user")

    assert sleep.waits == []
    message = str(caught.value)
    assert "/user" in message and "403" in message
    assert "resets in 3601s" in message and "try again later" in message


async def test_secondary_rate_limit_waits_then_retries(api: LoopbackServer) -> None:
    api.route(
        "GET",
        "/orgs/acme/teams",
        sequence(
            (403, {}, {"message": "You have exceeded a secondary rate limit."}),
            (200, {}, []),
        ),
    )
    sleep = FakeSleep()

    async with client(api, sleep) as c:
        assert await c.get_json("/orgs/acme/teams") == []

    assert sleep.waits == [60.0]


async def test_server_errors_back_off_exponentially_then_give_up(api: LoopbackServer) -> None:
    api.route("GET", "/flaky", sequence((502, {}, None), (500, {}, None), (200, {}, [1])))
    api.route("GET", "/down", (500, {}, {"message": "boom"}))
    sleep = FakeSleep()

    async with client(api, sleep, max_retries=3) as c:
        assert await c.get_json("/flaky") == [1]
        assert sleep.waits == [1.0, 2.0]
        with pytest.raises(ApiError) as caught:
            await c.get("/down")

    assert sleep.waits == [1.0, 2.0, 1.0, 2.0, 4.0]
    assert "HTTP 500" in str(caught.value) and "after 4 tries" in str(caught.value)
    assert '"boom"' in str(caught.value)


async def test_connection_errors_retry_then_name_the_url() -> None:
    with LoopbackServer() as gone:
        url = gone.url
    sleep = FakeSleep()

    async with ApiClient(url, sleep=sleep, max_retries=2, cache=ETagCache()) as c:
        with pytest.raises(ApiError) as caught:
            await c.get("/orgs/acme")

    assert caught.value.status is None
    assert f"{url}/orgs/acme" in str(caught.value)
    assert "reachable" in str(caught.value)
    assert sleep.waits == [1.0, 2.0]


async def test_etag_answers_304_from_the_cache(api: LoopbackServer) -> None:
    repos = [{"id": i} for i in range(3)]
    api.route(
        "GET",
        "/orgs/acme/repos",
        with_etag(link_pages(repos, per_page=2, base_url=lambda: api.url)),
    )
    cache = ETagCache()

    async with ApiClient(api.url, cache=cache) as first:
        one = [r["id"] async for r in first.paginate("/orgs/acme/repos")]
    async with ApiClient(api.url, cache=cache) as second:
        two = [r["id"] async for r in second.paginate("/orgs/acme/repos")]

    assert one == two == [0, 1, 2]
    assert first.stats.not_modified == 0
    assert second.stats.not_modified == 2 and second.stats.calls == 2
    sent = api.requests_to("/orgs/acme/repos")
    assert "if-none-match" not in sent[0].headers
    assert sent[2].headers["if-none-match"].startswith('"')


async def test_etag_cache_is_per_credentials_and_bounded(api: LoopbackServer) -> None:
    api.route("GET", "/x", with_etag(lambda _r: (200, {}, {"v": 1})))
    api.route("GET", "/y", with_etag(lambda _r: (200, {}, {"v": 2})))
    cache = ETagCache(max_entries=1)

    async with ApiClient(api.url, headers={"Authorization": "token a"}, cache=cache) as a:
        await a.get("/x")
    async with ApiClient(api.url, headers={"Authorization": "token b"}, cache=cache) as b:
        await b.get("/x")
        await b.get("/y")

    assert b.stats.not_modified == 0
    assert len(cache) == 1


async def test_etag_cache_is_bounded_by_bytes(api: LoopbackServer) -> None:
    api.route("GET", "/big", with_etag(constant({"data": "x" * 1000})))
    api.route("GET", "/small", with_etag(constant({"v": 1})))
    cache = ETagCache(max_bytes=1500)

    async with ApiClient(api.url, cache=cache) as c:
        await c.get("/big")
        await c.get("/small")
        await c.get("/big")  # refreshed in place, not counted twice
        assert cache.size < 1500 and len(cache) == 2
        api.route("GET", "/big2", with_etag(constant({"data": "y" * 1000})))
        await c.get("/big2")  # the least recently used entries make room

    assert len(cache) == 1 and cache.size <= 1500


async def test_client_errors_say_what_to_do(api: LoopbackServer) -> None:
    api.route("GET", "/bad-token", (401, {}, {"message": "Bad credentials"}))
    api.route("GET", "/no-scope", (403, {}, {"message": "Resource not accessible by integration"}))
    api.route("GET", "/teapot", (418, {}, None))

    async with client(api) as c:
        with pytest.raises(AuthError, match=r"bad or expired credentials.*Bad credentials"):
            await c.get("/bad-token")
        with pytest.raises(AuthError, match="lacks a permission or scope"):
            await c.get("/no-scope")
        with pytest.raises(NotFoundError, match=r"/orgs/nope failed \(HTTP 404\): not found"):
            await c.get("/orgs/nope")
        with pytest.raises(ApiError, match="HTTP 418"):
            await c.get("/teapot")
    assert c.stats.retries == 0


async def test_post_sends_json(api: LoopbackServer) -> None:
    api.route("POST", "/crumb", lambda r: (201, {}, {"echo": r.json()}))

    async with client(api) as c:
        response = await c.post("/crumb", json={"a": 1})

    assert response.status == 201
    assert response.json() == {"echo": {"a": 1}}


def test_parse_links_reads_every_rel() -> None:
    header = '<https://a/x?page=2>; rel="next", <https://a/x?page=9>; rel="last"'

    assert parse_links(header) == {"next": "https://a/x?page=2", "last": "https://a/x?page=9"}
    assert parse_links("") == {}
