"""The playground: GraphiQL on ``GET /graphql`` with example queries preloaded as tabs.

GraphiQL 3 (a browser bundle that needs no build step) and React 18 are npm packages pinned
in ``api/playground/package.json`` and its lock file (:data:`VERSIONS` repeats the pins; a
test keeps them equal). ``make install`` puts them in ``api/playground/node_modules`` with
``npm ci``, and the app serves the four files the page needs at ``/graphql/assets/<name>``,
so the page works on a machine without internet. When they are not installed (no npm, or an
install without the source tree), the page loads the same versions from a CDN and the app
logs a warning.

The headers editor is on: with bearer auth, paste ``{"Authorization": "Bearer …"}`` there.
The page itself runs no operation, so it opens without a token (see :mod:`api.auth`)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from string import Template

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Route

log = logging.getLogger("stagegraph.api")

PLAYGROUND_DIR = Path(__file__).resolve().parent / "playground"
ASSETS_PATH = "/graphql/assets"
CDN = "https://unpkg.com"
VERSIONS = {"graphiql": "3.9.0", "react": "18.3.1", "react-dom": "18.3.1"}


@dataclass(frozen=True)
class Asset:
    """A file the page loads: served as ``/graphql/assets/<name>``, read from ``file`` in the
    npm package ``package``."""

    name: str
    package: str
    file: str


ASSETS = (
    Asset("react.production.min.js", "react", "umd/react.production.min.js"),
    Asset("react-dom.production.min.js", "react-dom", "umd/react-dom.production.min.js"),
    Asset("graphiql.min.js", "graphiql", "graphiql.min.js"),
    Asset("graphiql.min.css", "graphiql", "graphiql.min.css"),
)
_BY_NAME = {asset.name: asset for asset in ASSETS}

# One tab each, in this order; GraphiQL names a tab after its operation. The refs are in the
# demo catalog (examples/README.md).
EXAMPLES = (
    """\
# One entity by ref: kind:namespace/name (the namespace
# defaults to "default"). Who owns the order service, its
# system, the APIs it provides and consumes, and what it
# depends on directly. Run with Ctrl+Enter or ▶.
#
# With bearer auth on, open "Headers" below and paste
#   {"Authorization": "Bearer <your token>"}
query Entity {
  entity(ref: "component:default/order-service") {
    ref
    title
    owner { ref ... on Group { parent { ref } } }
    ... on Component {
      lifecycle
      system { ref }
      providesApis { ref }
      consumesApis { ref }
    }
    dependsOn { ref }
  }
}
""",
    """\
# Everything the web shop needs, transitively (its
# longest chain ends six steps down, at the rates cache).
# Each node appears once, even in a cycle; each edge has
# its depth. direction: UPSTREAM gives what needs it.
query Dependencies {
  dependencies(
    ref: "component:customer-web"
    direction: DOWNSTREAM
    maxDepth: 10
  ) {
    root { ref }
    nodes { ref kind owner { ref } }
    edges { from to depth }
  }
}
""",
    """\
# What breaks if the identity service breaks (a hub: 7
# components depend on it): its transitive dependents and
# the consumers of the APIs they provide, each with its
# distance, and the distinct owners to notify.
query Impact {
  impact(ref: "component:identity-service", maxDepth: 10) {
    root { ref }
    owners { ref }
    affected {
      distance
      via
      entity { ref kind owner { ref } }
    }
  }
}
""",
    """\
# What a department owns, counting every team below it:
# includeSubgroups walks the group tree (here the
# shipping, fleet and warehouse teams).
query TeamOwnership {
  ownedEntities(
    owner: "group:logistics-engineering"
    includeSubgroups: true
  ) {
    ref
    kind
    title
    owner { ref }
  }
}
""",
)

_PAGE = Template("""\
<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>Stagegraph · GraphiQL</title>
    <link rel="icon" href="data:," />
    <style>
      body { margin: 0; height: 100vh; overflow: hidden; }
      #graphiql { height: 100vh; }
    </style>
    <link rel="stylesheet" href="$css" />
    <script src="$react"></script>
    <script src="$react_dom"></script>
    <script src="$graphiql"></script>
  </head>
  <body>
    <div id="graphiql">Loading GraphiQL…</div>
    <script>
      const examples = $examples;
      const fetcher = GraphiQL.createFetcher({ url: window.location.pathname });
      ReactDOM.createRoot(document.getElementById("graphiql")).render(
        React.createElement(GraphiQL, {
          fetcher: fetcher,
          defaultTabs: examples.map(function (query) { return { query: query }; }),
          isHeadersEditorEnabled: true,
          shouldPersistHeaders: false,
        }),
      );
    </script>
  </body>
</html>
""")


def installed(playground_dir: Path = PLAYGROUND_DIR) -> bool:
    """Whether every asset is in the folder's ``node_modules`` (``make install`` ran
    ``npm ci``)."""
    return all(_path(playground_dir, asset).is_file() for asset in ASSETS)


def _path(playground_dir: Path, asset: Asset) -> Path:
    return playground_dir / "node_modules" / asset.package / asset.file


def playground_html(playground_dir: Path = PLAYGROUND_DIR) -> str:
    """The GraphiQL page, loading its assets from this app when they are installed, else
    from the CDN (with a warning)."""
    if installed(playground_dir):
        urls = {a.name: f"{ASSETS_PATH}/{a.name}?v={VERSIONS[a.package]}" for a in ASSETS}
    else:
        log.warning(
            "GraphiQL assets are not installed in %s: the page at GET /graphql loads them "
            "from %s, which needs internet access in the browser (run `make install` with "
            "npm available to serve them locally)",
            playground_dir / "node_modules",
            CDN,
        )
        urls = {a.name: f"{CDN}/{a.package}@{VERSIONS[a.package]}/{a.file}" for a in ASSETS}
    # "<" escaped so that no example can close the <script> element.
    examples = json.dumps(list(EXAMPLES), ensure_ascii=False).replace("<", "\\u003c")
    return _PAGE.substitute(
        css=urls["graphiql.min.css"],
        react=urls["react.production.min.js"],
        react_dom=urls["react-dom.production.min.js"],
        graphiql=urls["graphiql.min.js"],
        examples=examples,
    )


def asset_routes(playground_dir: Path = PLAYGROUND_DIR) -> list[Route]:
    """``GET /graphql/assets/<name>``; none when the assets are not installed."""
    if not installed(playground_dir):
        return []

    async def asset(request: Request) -> Response:
        found = _BY_NAME.get(request.path_params["name"])
        if found is None:
            return PlainTextResponse("Not Found", status_code=404)
        # Each URL carries the pinned version (?v=), so a browser may keep the file.
        return FileResponse(
            _path(playground_dir, found),
            headers={"Cache-Control": "public, max-age=31536000, immutable"},
        )

    return [Route(ASSETS_PATH + "/{name}", asset, methods=["GET", "HEAD"])]
