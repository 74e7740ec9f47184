"""The explorer at /explore in headless Chromium against the real server on the demo catalog,
on both stores, with auth on: each page shows what the public GraphQL API answers, no request
leaves the server's origin and the console stays free of errors. Screenshots of every page go
to ``.cache/explorer-screenshots/`` (ignored by git), with the load times measured."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from api.app import create_app
from api.auth import hash_token
from api.explorer import (
    EXPLORER_DIR,
    LIBRARIES,
    VERSIONS,
    explorer_html,
    explorer_routes,
    installed,
)
from api.settings import Settings
from tests.api.browser import Watched, launch, require_browser, watched_page
from tests.api.server import running_server
from tests.conftest import NEO4J_URL, require_neo4j, wipe_neo4j

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / ".cache" / "explorer-screenshots"
READER_TOKEN = "sg_reader-" + secrets.token_urlsafe(24)
WRITER_TOKEN = "sg_writer-" + secrets.token_urlsafe(24)
WITH_TOKEN = f"sessionStorage.setItem('stagegraph.token', {json.dumps(READER_TOKEN)});"
TIMINGS: dict[str, float] = {}  # "<store>/<page>": ms from goto to the page saying it is ready
STORES: dict[str, str] = {}  # server base URL -> store


def require() -> None:
    require_browser(
        *(
            []
            if installed()
            else [f"Cytoscape is not in {EXPLORER_DIR}/node_modules (make install)"]
        )
    )


@pytest.fixture(scope="module", params=["sqlite", "neo4j"])
def demo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo catalog behind a reader token (anonymous read off), on each store."""
    if request.param == "neo4j":
        # In a thread of its own: Playwright's loop may be running in this one already.
        with ThreadPoolExecutor(1) as thread:
            thread.submit(asyncio.run, require_neo4j()).result()
            thread.submit(asyncio.run, wipe_neo4j()).result()
        store = NEO4J_URL
    else:
        store = f"sqlite:///{tmp_path_factory.mktemp('explorer') / 'demo.db'}"
    tokens = [
        {"name": "explorer-test", "sha256": hash_token(READER_TOKEN), "role": "reader"},
        {"name": "explorer-push", "sha256": hash_token(WRITER_TOKEN), "role": "writer"},
    ]
    environ = {"STAGEGRAPH_TOKENS": json.dumps(tokens), "STAGEGRAPH_ANONYMOUS_READ": "false"}
    with running_server(store, "--demo", environ=environ) as base:
        STORES[base] = request.param
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not installed():
        yield None  # type: ignore[misc]  # the tests skip through require()
        return
    with sync_playwright() as playwright:
        chromium = launch(playwright) if Path("/usr/bin/chromium").is_file() else None
        yield chromium  # type: ignore[misc]
        if chromium is not None:
            chromium.close()


@pytest.fixture
def tab(demo: str, browser: Browser) -> Iterator[Watched]:
    """A page with the reader token in sessionStorage; afterwards: nothing left the origin and
    the console has no errors."""
    require()
    with watched_page(browser, init_script=WITH_TOKEN) as watched:
        yield watched
        assert watched.off_origin(demo) == [], "the page made requests outside its origin"
        assert watched.errors == [], "the console has errors"


def ask(base: str, query: str, token: str = READER_TOKEN, **variables: Any) -> dict[str, Any]:
    response = httpx.post(
        f"{base}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def open_page(tab: Watched, base: str, route: str, name: str) -> None:
    """Open /explore<route>, wait until the page says it is ready, time it, screenshot it."""
    started = time.monotonic()
    tab.page.goto(f"{base}/explore{route}")
    expect(tab.page.locator("body")).to_have_attribute("data-state", "ready", timeout=20_000)
    store = STORES.get(base, "")
    TIMINGS[f"{store}/{name}"] = round((time.monotonic() - started) * 1000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab.page.screenshot(path=SHOTS / f"{store}-{name}.png")
    (SHOTS / "timings.json").write_text(json.dumps(TIMINGS, indent=2))


def route(page: str, ref: str, query: str = "") -> str:
    return f"#/{page}/{quote(ref, safe='')}{query}"


def shows(page: Page, refs: list[str]) -> list[str]:
    """The refs of the search results once they are `refs` (or after 10 s, what they are)."""
    script = (
        "(want) => JSON.stringify([...document.querySelectorAll('#results a.result')]"
        ".map((a) => a.dataset.ref)) === JSON.stringify(want)"
    )
    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_function(script, arg=refs, timeout=10_000)
    shown: list[str] = page.locator("#results a.result").evaluate_all(
        "(links) => links.map((a) => a.dataset.ref)"
    )
    return shown


def test_search_as_you_type_shows_the_api_ranking_facets_and_pages(tab: Watched, demo: str) -> None:
    ranked = ask(demo, '{ entities(search: "ship", first: 20) { edges { node { ref } } } }')
    components = ask(
        demo,
        """{ entities(search: "ship", kind: "component", first: 20) {
             edges { node { ref } } } }""",
    )
    open_page(tab, demo, "#/", "search")
    page = tab.page

    page.keyboard.type("ship")
    expected = [edge["node"]["ref"] for edge in ranked["entities"]["edges"]]
    shown = shows(page, expected)
    page.locator(".facets button", has_text="component").first.click()
    wanted = [edge["node"]["ref"] for edge in components["entities"]["edges"]]
    expect(page.locator(".chip")).to_have_text(["kind: component ×"])
    filtered = shows(page, wanted)
    page.locator("#q").focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.locator("#entity-title")).to_be_visible()

    assert shown == expected
    assert filtered == wanted
    assert page.url.endswith(route("entity", wanted[0]))


def test_search_pages_with_cursors(tab: Watched, demo: str) -> None:
    first = ask(demo, "{ entities(first: 20) { edges { node { ref } } pageInfo { endCursor } } }")
    after = first["entities"]["pageInfo"]["endCursor"]
    second = ask(
        demo,
        "query($a: String) { entities(first: 20, after: $a) { edges { node { ref } } } }",
        a=after,
    )
    open_page(tab, demo, "#/", "search-empty")
    page = tab.page

    page.get_by_role("button", name="Next →").click()
    expect(page.locator("#summary")).to_contain_text("21–40 of")
    shown = shows(page, [edge["node"]["ref"] for edge in second["entities"]["edges"]])
    page.get_by_role("button", name="← Previous").click()
    expect(page.locator("#summary")).to_contain_text("1–20 of")

    assert shown == [edge["node"]["ref"] for edge in second["entities"]["edges"]]


def test_search_ship_shows_shipment_tracker_first(tab: Watched, demo: str) -> None:
    open_page(tab, demo, "#/search?q=ship", "search-ship")

    first = tab.page.locator("#results a.result").first

    expect(first).to_have_attribute("data-ref", "component:default/shipment-tracker")


def test_entity_page_shows_what_the_api_answers(tab: Watched, demo: str) -> None:
    ref = "component:default/shipment-tracker"
    answer = ask(
        demo,
        """query($ref: String!) { entity(ref: $ref) {
             owner { ref } dependsOn { ref } dependencyOf { ref }
             ... on Component { providesApis { ref } consumesApis { ref } pipelines { ref }
                                deployments(first: 25) { ref environment { ref } } } } }""",
        ref=ref,
    )["entity"]
    open_page(tab, demo, route("entity", ref), "entity")
    page = tab.page
    titles = "(links) => links.map((a) => a.title)"

    owner = page.locator("#owner a").first.get_attribute("title")
    provided = page.locator("[data-field=providesApis] a").evaluate_all(titles)
    consumed = page.locator("[data-field=consumesApis] a").evaluate_all(titles)
    depends = page.locator("[data-relation=dependsOn] a").evaluate_all(titles)
    needed_by = page.locator("[data-relation=dependencyOf] a").evaluate_all(titles)
    pipelines = page.locator("#pipelines tbody tr td:first-child a").evaluate_all(titles)
    deployed = page.locator("#deployments tbody tr").evaluate_all(
        "(rows) => rows.map((r) => [r.cells[0].querySelector('a').title, r.cells[1].innerText])"
    )
    latest: dict[str, str] = {}
    for deployment in answer["deployments"]:  # newest first
        latest.setdefault(deployment["environment"]["ref"], deployment["ref"])

    assert owner == answer["owner"]["ref"]
    assert provided == [api["ref"] for api in answer["providesApis"]]
    assert consumed == [api["ref"] for api in answer["consumesApis"]]
    assert sorted(depends) == sorted(e["ref"] for e in answer["dependsOn"])
    assert sorted(needed_by) == sorted(e["ref"] for e in answer["dependencyOf"])
    assert pipelines == [p["ref"] for p in answer["pipelines"]]
    assert latest and deployed == [
        [env, ref.replace(":default/", ":")] for env, ref in latest.items()
    ]
    expect(page.locator("#view-source")).to_be_visible()


def test_graph_draws_exactly_the_dependencies_of_customer_web(tab: Watched, demo: str) -> None:
    ref = "component:default/customer-web"
    answer = ask(
        demo,
        """{ dependencies(ref: "component:customer-web", maxDepth: 6) {
             root { ref } nodes { ref } edges { from to } } }""",
    )["dependencies"]
    open_page(tab, demo, route("graph", ref, "?depth=6"), "graph")

    nodes = tab.page.evaluate("window.explorer.graph.nodes().map((n) => n.id())")
    edges = tab.page.evaluate(
        "window.explorer.graph.edges().map((e) => [e.data('source'), e.data('target')])"
    )

    assert sorted(nodes) == sorted([ref, *(node["ref"] for node in answer["nodes"])])
    assert sorted(map(tuple, edges)) == sorted((e["from"], e["to"]) for e in answer["edges"])
    assert len(edges) == len(answer["edges"])


def test_graph_toggles_add_each_drawn_entitys_owner(tab: Watched, demo: str) -> None:
    ref = "component:default/shipment-tracker"
    answer = ask(
        demo,
        """{ dependencies(ref: "component:shipment-tracker", maxDepth: 1) {
             root { ref owner { ref } } nodes { ref owner { ref } } } }""",
    )["dependencies"]
    open_page(tab, demo, route("graph", ref, "?depth=1&types=dependsOn,ownership"), "owners")

    owned_by = tab.page.evaluate(
        "window.explorer.graph.edges('.ownedBy').map((e) => [e.data('source'), e.data('target')])"
    )

    entities = [answer["root"], *answer["nodes"]]
    expected = {(e["ref"], e["owner"]["ref"]) for e in entities if e["owner"]}
    assert set(map(tuple, owned_by)) == expected
    expect(tab.page.locator("#type-ownership")).to_be_checked()


def test_graph_click_recentres_and_double_click_opens_the_page(tab: Watched, demo: str) -> None:
    open_page(tab, demo, route("graph", "component:default/customer-web", "?depth=2"), "graph-2")
    page = tab.page
    point = "(id) => { const p = window.explorer.graph.getElementById(id).renderedPosition(); const r = document.getElementById('graph').getBoundingClientRect(); return [r.x + p.x, r.y + p.y]; }"

    x, y = page.evaluate(point, "component:default/api-gateway")
    page.mouse.click(x, y)
    expect(page.locator(".graph-side h1")).to_have_text("API Gateway", timeout=10_000)
    expect(page.locator("body")).to_have_attribute("data-state", "ready")
    x, y = page.evaluate(point, "component:default/order-service")
    page.mouse.dblclick(x, y)
    expect(page.locator("#entity-title")).to_have_text("Order Service", timeout=10_000)


def test_impact_mode_lists_the_owners_impact_names(tab: Watched, demo: str) -> None:
    ref = "component:default/identity-service"
    answer = ask(
        demo,
        """{ impact(ref: "component:identity-service", maxDepth: 10) {
             owners { ref } affected { entity { ref } } } }""",
    )["impact"]
    open_page(tab, demo, route("graph", ref, "?depth=10&mode=impact"), "impact")

    owners = tab.page.locator("#owners li").evaluate_all("(li) => li.map((x) => x.dataset.ref)")
    affected = tab.page.locator("#affected li").evaluate_all("(li) => li.map((x) => x.dataset.ref)")
    drawn = tab.page.evaluate("window.explorer.graph.nodes('.affected').map((n) => n.id())")

    assert owners == [owner["ref"] for owner in answer["owners"]]
    assert sorted(affected) == sorted(a["entity"]["ref"] for a in answer["affected"])
    assert {a["entity"]["ref"] for a in answer["affected"]} <= set(drawn)
    expect(tab.page.locator("#cycle-count")).not_to_contain_text("0 edges")


def test_graph_shows_a_ref_that_names_no_entity_as_missing(tab: Watched, demo: str) -> None:
    # "zz-" keeps it after the demo's entities in listings ordered by ref.
    pushed = ask(
        demo,
        """mutation($e: [JSON!]!) { upsertEntities(source: "explorer-test", entities: $e) {
             status error } }""",
        token=WRITER_TOKEN,
        e=[
            {
                "apiVersion": "backstage.io/v1alpha1",
                "kind": "Component",
                "metadata": {"name": "zz-explorer-dangling"},
                "spec": {
                    "type": "service",
                    "lifecycle": "experimental",
                    "owner": "web-team",
                    "dependsOn": ["component:identity-service", "component:zz-not-in-catalog"],
                },
            }
        ],
    )
    assert pushed["upsertEntities"][0]["error"] is None, pushed
    open_page(tab, demo, route("graph", "component:default/zz-explorer-dangling"), "dangling")

    dangling = tab.page.evaluate("window.explorer.graph.nodes('.dangling').map((n) => n.id())")

    assert dangling == ["component:default/zz-not-in-catalog"]
    expect(tab.page.locator("#dangling-count")).to_contain_text("1 missing ref")


def test_team_page_lists_what_the_team_owns_through_its_sub_teams(tab: Watched, demo: str) -> None:
    ref = "group:default/logistics-engineering"
    answer = ask(
        demo,
        """{ ownedEntities(owner: "group:logistics-engineering", includeSubgroups: true) { ref }
             entity(ref: "group:logistics-engineering") {
               ... on Group { members { ref } children { ref } } } }""",
    )
    open_page(tab, demo, route("team", ref), "team")
    page = tab.page

    owned = page.locator("#owned li[data-ref]").evaluate_all("(li) => li.map((x) => x.dataset.ref)")
    members = page.locator("#members a").evaluate_all("(a) => a.map((x) => x.title)")
    subteams = page.locator("#subteams > ul > li > a").evaluate_all("(a) => a.map((x) => x.title)")

    assert sorted(owned) == sorted(entity["ref"] for entity in answer["ownedEntities"])
    assert len(owned) == len(answer["ownedEntities"])
    assert members == [m["ref"] for m in answer["entity"]["members"]]
    assert sorted(subteams) == sorted(c["ref"] for c in answer["entity"]["children"])


def test_without_a_token_the_pages_ask_for_one_and_show_no_data(
    demo: str, browser: Browser
) -> None:
    require()
    with watched_page(browser) as tab:
        page = tab.page
        page.goto(f"{demo}/explore{route('entity', 'component:default/shipment-tracker')}")
        prompt = page.locator("#token-prompt")
        expect(prompt).to_contain_text("This catalog needs a token")
        before = page.locator("#view").inner_text()
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SHOTS / "token-prompt.png")

        page.locator("#token").fill(f"Bearer {READER_TOKEN}")
        page.get_by_role("button", name="Use token").click()
        expect(page.locator("#entity-title")).to_have_text("Shipment Tracker")
        page.goto(f"{demo}/explore#/search?q=ship")
        expect(page.locator("#results a.result").first).to_be_visible()
        stored = page.evaluate("sessionStorage.getItem('stagegraph.token')")

    assert "Shipment Tracker" not in before
    assert stored == READER_TOKEN
    assert tab.off_origin(demo) == []
    # Chromium logs each 401 answer as a failed resource; nothing else may be an error.
    assert [e for e in tab.errors if "status of 401" not in e] == []


def test_root_redirects_to_the_explorer_and_its_files_are_served(demo: str) -> None:
    root = httpx.get(f"{demo}/", timeout=30)
    page = httpx.get(f"{demo}/explore", timeout=30)
    own = [
        httpx.get(f"{demo}/explore/assets/{name}", timeout=30)
        for name in ("main.js", "explorer.css")
    ]
    unknown = httpx.get(f"{demo}/explore/assets/package.json", timeout=30)

    assert root.status_code == 307 and root.headers["location"] == "/explore"
    assert page.status_code == 200 and "https://" not in page.text
    assert [r.headers["content-type"].split(";")[0] for r in own] == ["text/javascript", "text/css"]
    assert unknown.status_code == 404
    if installed():
        for library in LIBRARIES:
            url = f"/explore/assets/{library.name}.mjs?v={VERSIONS[library.package]}"
            assert url in page.text
            assert httpx.get(f"{demo}{url}", timeout=30).status_code == 200


def test_explorer_off_serves_neither_page_nor_redirect(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'off.db'}"

    paths = {str(getattr(r, "path", "")) for r in create_app(Settings(store=store)).routes}
    off = {
        str(getattr(r, "path", ""))
        for r in create_app(Settings(store=store, explorer=False)).routes
    }

    assert {"/", "/explore", "/explore/assets/{name}"} <= paths
    assert {"/", "/explore", "/explore/assets/{name}"} & off == set()


def test_page_imports_pinned_versions_from_a_cdn_when_not_installed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "web").mkdir()
    with caplog.at_level("WARNING", logger="stagegraph.api"):
        html = explorer_html(tmp_path)
        routes = explorer_routes(tmp_path)

    assert f"https://unpkg.com/cytoscape@{VERSIONS['cytoscape']}/" in html
    assert "the explorer's graph library is not installed" in caplog.text
    assert [r.path for r in routes] == ["/", "/explore", "/explore/assets/{name}"]


def test_versions_are_the_ones_package_json_and_its_lock_pin() -> None:
    manifest = json.loads((EXPLORER_DIR / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((EXPLORER_DIR / "package-lock.json").read_text(encoding="utf-8"))
    locked = {name: lock["packages"][f"node_modules/{name}"]["version"] for name in VERSIONS}

    assert manifest["dependencies"] == VERSIONS
    assert locked == VERSIONS


def test_image_builds_the_explorer_files_in() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()

    assert "COPY api/explorer/package.json api/explorer/package-lock.json ./" in dockerfile
    assert "COPY --from=explorer /explorer/node_modules ./api/explorer/node_modules" in dockerfile
    assert "api/explorer/node_modules" in ignored
