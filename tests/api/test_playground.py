"""The playground: GraphiQL in headless Chromium against the real server on the demo
catalog, every file it loads served over loopback; and the page's HTTP surface.

The browser test drives Debian's ``chromium`` with Playwright (no browser download). It is
skipped when ``/usr/bin/chromium`` or GraphiQL's npm files (``make install``) are missing,
unless ``STAGEGRAPH_REQUIRE_BROWSER=1`` (set by ``.ci/run``), which makes that a failure."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from api.auth import hash_token
from api.playground import (
    ASSETS,
    EXAMPLES,
    PLAYGROUND_DIR,
    VERSIONS,
    asset_routes,
    installed,
    playground_html,
)
from tests.api.server import running_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REQUIRE_BROWSER = os.environ.get("STAGEGRAPH_REQUIRE_BROWSER") == "1"
READER_TOKEN = "sg_reader-" + secrets.token_urlsafe(24)
TAB_TITLES = ["Entity", "Dependencies", "Impact", "TeamOwnership"]
IMPACT = EXAMPLES[TAB_TITLES.index("Impact")]


def require(*, browser: bool) -> None:
    """Skip (or fail, with STAGEGRAPH_REQUIRE_BROWSER=1) without GraphiQL's files or, when
    ``browser``, without Chromium."""
    missing = []
    if browser and not CHROMIUM.is_file():
        missing.append(f"no {CHROMIUM} (apt-get install chromium)")
    if not installed():
        missing.append(f"GraphiQL's files are not in {PLAYGROUND_DIR}/node_modules (make install)")
    if not missing:
        return
    reason = "; ".join(missing)
    if REQUIRE_BROWSER:
        pytest.fail(f"{reason}; STAGEGRAPH_REQUIRE_BROWSER=1 makes this a failure", pytrace=False)
    pytest.skip(f"{reason} (STAGEGRAPH_REQUIRE_BROWSER=1 to fail)")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo catalog behind a reader token, with anonymous read off."""
    store = tmp_path_factory.mktemp("playground") / "demo.db"
    tokens = [{"name": "playground-test", "sha256": hash_token(READER_TOKEN), "role": "reader"}]
    environ = {"STAGEGRAPH_TOKENS": json.dumps(tokens), "STAGEGRAPH_ANONYMOUS_READ": "false"}
    with running_server(f"sqlite:///{store}", "--demo", environ=environ) as base:
        yield base


def ask(base: str, query: str) -> dict[str, Any]:
    response = httpx.post(
        f"{base}/graphql",
        json={"query": query},
        headers={"Authorization": f"Bearer {READER_TOKEN}"},
        timeout=30,
    )
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def test_graphiql_runs_an_example_with_a_pasted_token_and_shows_the_answer(server: str) -> None:
    require(browser=True)
    expected = ask(server, IMPACT)
    requested: list[str] = []

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("request", lambda request: requested.append(request.url))
            page.goto(f"{server}/graphql")
            expect(page.get_by_role("tab")).to_have_text(
                TAB_TITLES, use_inner_text=True, timeout=20_000
            )

            page.get_by_role("button", name="Impact", exact=True).click()
            page.get_by_role("button", name="Headers", exact=True).click()
            page.locator(".graphiql-editor-tool .graphiql-editor:visible").click()
            page.keyboard.insert_text(json.dumps({"Authorization": f"Bearer {READER_TOKEN}"}))
            page.get_by_role("button", name="Execute query (Ctrl-Enter)").click()

            result = page.locator(".graphiql-response")
            expect(result).to_contain_text('"owners"', timeout=20_000)
            expect(result).to_contain_text("component:default/identity-service")
            shown = result.locator(".CodeMirror").evaluate("(node) => node.CodeMirror.getValue()")
        finally:
            browser.close()

    assert json.loads(shown) == expected
    assert "errors" not in expected
    left = [url for url in requested if urlsplit(url).hostname != "127.0.0.1"]
    assert left == [], f"the page loaded files from outside the machine: {left}"
    assert f"{server}/graphql/assets/graphiql.min.js?v={VERSIONS['graphiql']}" in requested


def test_every_example_answers_on_the_demo_catalog(server: str) -> None:
    answers = [ask(server, query) for query in EXAMPLES]

    assert [answer.get("errors") for answer in answers] == [None] * len(EXAMPLES)
    entity, dependencies, impact, owned = (answer["data"] for answer in answers)
    assert entity["entity"]["owner"]["ref"] == "group:default/orders-team"
    reached = {node["ref"] for node in dependencies["dependencies"]["nodes"]}
    assert "resource:default/rates-cache" in reached
    affected = impact["impact"]["affected"]
    assert len([a for a in affected if a["distance"] == 1 and a["via"] == "dependsOn"]) == 7
    owners = {item["owner"]["ref"] for item in owned["ownedEntities"]}
    assert {
        "group:default/shipping-team",
        "group:default/fleet-team",
        "group:default/warehouse-team",
    } <= owners


def test_page_opens_without_the_token_queries_need(server: str) -> None:
    page = httpx.get(f"{server}/graphql", headers={"Accept": "text/html"}, timeout=30)
    query = httpx.post(f"{server}/graphql", json={"query": "{ __typename }"}, timeout=30)

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'const examples = ["# One entity by ref' in page.text
    assert query.status_code == 401


def test_page_loads_its_files_from_the_app_without_a_token(server: str) -> None:
    require(browser=False)

    page = httpx.get(f"{server}/graphql", headers={"Accept": "text/html"}, timeout=30)
    files = [httpx.get(f"{server}/graphql/assets/{asset.name}", timeout=30) for asset in ASSETS]
    unknown = httpx.get(f"{server}/graphql/assets/package.json", timeout=30)

    assert "https://" not in page.text
    for asset in ASSETS:
        assert f'"/graphql/assets/{asset.name}?v={VERSIONS[asset.package]}"' in page.text
    assert [f.status_code for f in files] == [200] * len(ASSETS)
    assert [f.headers["content-type"].split(";")[0] for f in files] == [
        "text/javascript",
        "text/javascript",
        "text/javascript",
        "text/css",
    ]
    assert unknown.status_code == 404


def test_graphiql_off_serves_neither_page_nor_files(tmp_path: Path) -> None:
    store_url = f"sqlite:///{tmp_path / 'off.db'}"

    with running_server(store_url, environ={"STAGEGRAPH_GRAPHIQL": "false"}) as base:
        page = httpx.get(f"{base}/graphql", headers={"Accept": "text/html"}, timeout=30)
        asset = httpx.get(f"{base}/graphql/assets/{ASSETS[0].name}", timeout=30)

    assert page.status_code == 404
    assert asset.status_code == 404


def test_page_loads_pinned_versions_from_a_cdn_when_not_installed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING", logger="stagegraph.api"):
        html = playground_html(tmp_path)

    graphiql, react = VERSIONS["graphiql"], VERSIONS["react"]
    assert f"https://unpkg.com/graphiql@{graphiql}/graphiql.min.js" in html
    assert f"https://unpkg.com/react@{react}/umd/react.production.min.js" in html
    assert "/graphql/assets/" not in html
    assert "GraphiQL assets are not installed" in caplog.text
    assert asset_routes(tmp_path) == []


def test_versions_are_the_ones_package_json_and_its_lock_pin() -> None:
    manifest = json.loads((PLAYGROUND_DIR / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((PLAYGROUND_DIR / "package-lock.json").read_text(encoding="utf-8"))
    locked = {name: lock["packages"][f"node_modules/{name}"]["version"] for name in VERSIONS}

    assert {name: manifest["dependencies"][name] for name in VERSIONS} == VERSIONS
    assert locked == VERSIONS
