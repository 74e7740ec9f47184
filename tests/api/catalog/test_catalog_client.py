"""Backstage's real ``@backstage/catalog-client`` (npm, pinned in ``client/``) run with Node
against a live ``stagegraph serve`` on each store, over the Backstage example catalog; every
full entity it gets back goes through ``@backstage/catalog-model``'s validators.

Skipped when node or npm is missing, unless ``STAGEGRAPH_REQUIRE_BROWSER=1`` (set by
``.ci/run``), which makes that a failure. The first run installs the client with ``npm ci``
from ``client/package-lock.json``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from api.auth import hash_token
from graph.port import GraphStore
from ingestors.location import location_ref
from tests.api.catalog.conftest import ADMIN_TOKEN, READER_TOKEN, WRITER_TOKEN, load_examples
from tests.api.server import running_server
from tests.gitrepo import GitRepo, component, group

CLIENT = Path(__file__).resolve().parent / "client"
STAMP = CLIENT / "node_modules" / ".installed"
REQUIRE = os.environ.get("STAGEGRAPH_REQUIRE_BROWSER") == "1"


def node_and_client() -> str:
    """The node binary, with the client installed from the lock; skip (or fail) without."""
    node, npm = shutil.which("node"), shutil.which("npm")
    reason = None
    if node is None or npm is None:
        reason = "node and npm are needed to run @backstage/catalog-client"
    elif (
        not STAMP.is_file()
        or STAMP.stat().st_mtime < (CLIENT / "package-lock.json").stat().st_mtime
    ):
        done = subprocess.run(
            [npm, "ci", "--prefer-offline", "--ignore-scripts", "--no-audit", "--no-fund",
             "--loglevel=error"],
            cwd=CLIENT, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        if done.returncode == 0:
            STAMP.touch()
        else:
            reason = f"npm ci in {CLIENT} failed: {done.stderr.strip()[-500:]}"
    if reason is None and node is not None:
        return node
    if REQUIRE:
        pytest.fail(f"{reason}; STAGEGRAPH_REQUIRE_BROWSER=1 makes this a failure", pytrace=False)
    pytest.skip(f"{reason} (STAGEGRAPH_REQUIRE_BROWSER=1 to fail)")


def drive(node: str, base: str, repo: Path) -> dict[str, Any]:
    done = subprocess.run(
        [node, str(CLIENT / "drive.cjs"), base, READER_TOKEN, WRITER_TOKEN, ADMIN_TOKEN, str(repo)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


#: What Backstage's validators refuse in the example catalog as Stagegraph serves it:
#: remote ``$text`` placeholders are not fetched (the definition stays an object), and the
#: MCP server API of Backstage's own examples has no definition at all.
KNOWN_INVALID = {
    "api:default/backstage-mcp-server": "must have required property 'definition'",
    "api:default/spotify": "/spec/definition must be string",
    "api:default/wayback-archive": "/spec/definition must be string",
    "api:default/wayback-search": "/spec/definition must be string",
}


async def test_the_backstage_catalog_client_reads_stagegraph(
    store: GraphStore, store_url: str, tmp_path: Path
) -> None:
    node = node_and_client()
    await load_examples(store)
    repo = GitRepo(tmp_path / "shop")
    repo.write("org/catalog-info.yaml", group("team-shop"))
    repo.write("services/cart/catalog-info.yaml", component("cart", owner="team-shop"))
    repo.commit()
    tokens = [
        {"name": "portal", "sha256": hash_token(READER_TOKEN), "role": "reader"},
        {"name": "ci", "sha256": hash_token(WRITER_TOKEN), "role": "writer"},
        {"name": "ops", "sha256": hash_token(ADMIN_TOKEN), "role": "admin"},
    ]
    environ = {"STAGEGRAPH_TOKENS": json.dumps(tokens), "STAGEGRAPH_ANONYMOUS_READ": "false"}

    with running_server(store_url, "--no-scheduler", environ=environ) as base:
        result = drive(node, base, repo.path)

    assert result["filtered"] == [
        "api:default/hello-world",
        "component:default/queue-proxy",
        "component:default/www-artist",
    ]
    assert result["paged"] == ["boxoffice", "infrastructure", "team-a"]
    assert "component:default/petstore" not in result["exists"]
    assert "component:default/www-artist" in result["exists"]
    assert result["byRefs"] == ["api:default/petstore", None, "group:default/team-c"]
    query = result["query"]
    forward = [ref for page in query["forward"] for ref in page]
    assert query["totalItems"] == len(forward) == len(set(forward)) == 17
    assert [len(page) for page in query["forward"]] == [5, 5, 5, 2]
    assert query["back"] == list(reversed(query["forward"]))
    assert query["text"] == ["component:default/searcher", "component:default/wayback-search"]
    petstore = result["petstore"]
    assert petstore["ref"] == "component:default/petstore"
    assert {"type": "ownedBy", "targetRef": "group:default/team-c"} in petstore["relations"]
    assert result["missing"] is None
    assert result["ancestors"] == {
        "root": "component:default/petstore",
        "items": ["component:default/petstore"],
    }
    facets = result["facets"]
    assert facets["kind"] == [{"value": "Component", "count": 13}, {"value": "API", "count": 10}]
    assert sum(f["count"] for f in facets["spec.lifecycle"]) == 23
    assert {"value": "group:default/team-c", "count": 7} in facets["relations.ownedBy"]
    assert result["unauthorized"] == {
        "name": "ResponseError",
        "status": 401,
        "cause": "AuthenticationError",
    }
    assert result["validation"]["valid"] == {"valid": True}
    refused = result["validation"]["refused"]
    assert refused["valid"] is False
    assert "metadata.name" in refused["errors"][0]["message"]
    assert result["deletion"] == {"readerDelete": 403, "afterDelete": None}
    assert result["validated"] > result["all"] > 50
    assert set(result["invalid"]) == set(KNOWN_INVALID)
    for ref, message in KNOWN_INVALID.items():
        assert message in result["invalid"][ref]
    assert_locations(result["locations"], repo.url())


def assert_locations(found: dict[str, Any], target: str) -> None:
    """What the client's location methods got for the repository registered over file://."""
    generated = location_ref(target)
    location = found["added"]["location"]
    assert found["readerAdd"] == 403
    assert found["dry"]["exists"] is False
    assert found["dry"]["location"]["target"] == target
    assert found["dry"]["refs"][0] == generated
    assert sorted(found["dry"]["refs"][1:]) == ["component:default/cart", "group:default/team-shop"]
    assert (location["type"], location["target"], found["added"]["entities"]) == ("url", target, [])
    assert found["conflict"] == {"status": 409, "cause": "ConflictError"}
    assert found["listed"] == [location]
    assert found["byId"] == found["byRef"] == found["byEntity"] == location
    assert found["ancestry"] == [["component:default/cart", [generated]], [generated, []]]
    assert found["cartAnnotations"]["backstage.io/managed-by-origin-location"] == f"url:{target}"
    assert found["analysis"] == [
        ["component:default/cart", True],
        ["group:default/team-shop", True],
    ]
    assert found["refreshed"] == {"before": None, "after": "component:default/basket"}
    assert found["afterRemove"] == {"location": None, "cart": None, "listed": []}
