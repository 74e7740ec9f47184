"""The graph explorer at ``GET /explore``: search, entity, team and graph pages in the browser,
built only on the public ``POST /graphql`` (so every feature it shows is one a portal can copy).

The page is plain ES modules in ``api/explorer/web/`` (no build step), served at
``/explore/assets/<name>``. The graph library, Cytoscape.js with its dagre layout, is pinned
in ``api/explorer/package.json`` and its lock (:data:`VERSIONS` repeats the pins; a test keeps
them equal); ``make install`` puts it in ``api/explorer/node_modules`` with ``npm ci`` and the
app serves the two ES module bundles beside the page's own files, so the page needs no
internet. When they are not installed, the page loads the same versions from a CDN and the app
logs a warning (as GraphiQL's page does, :mod:`api.playground`).

The page and its files hold no data and open without a token; the page sends the token the
user enters (kept in ``sessionStorage``) as ``Authorization`` with each GraphQL request."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from string import Template

from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Route

log = logging.getLogger("stagegraph.api")

EXPLORER_DIR = Path(__file__).resolve().parent / "explorer"
WEB_DIR = EXPLORER_DIR / "web"
PAGE_PATH = "/explore"
ASSETS_PATH = "/explore/assets"
CDN = "https://unpkg.com"
VERSIONS = {"cytoscape": "3.34.4", "cytoscape-dagre": "4.0.1"}


@dataclass(frozen=True)
class Library:
    """An ES module the page imports by ``name`` (its import map entry): served as
    ``/explore/assets/<name>.mjs``, read from ``file`` in the npm package ``package``."""

    name: str
    package: str
    file: str


LIBRARIES = (
    Library("cytoscape", "cytoscape", "dist/cytoscape.esm.min.mjs"),
    Library("cytoscape-dagre", "cytoscape-dagre", "dist/cytoscape-dagre.min.mjs"),
)
_LIBRARY_FILES = {f"{library.name}.mjs": library for library in LIBRARIES}
_WEB_TYPES = {".js": "text/javascript", ".css": "text/css"}

_PAGE = Template("""\
<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Stagegraph · Explorer</title>
    <link rel="icon" href="data:," />
    <link rel="stylesheet" href="$assets/explorer.css" />
    <script type="importmap">$imports</script>
    <script type="module" src="$assets/main.js"></script>
  </head>
  <body>
    <header>
      <a class="brand" href="#/">Stagegraph</a>
      <nav><a href="#/">Search</a> <a href="/graphql">GraphQL</a></nav>
      <form id="token-form" autocomplete="off">
        <label for="token">Token</label>
        <input id="token" type="password" autocomplete="off" placeholder="sg_… or a JWT" />
        <button type="submit">Use token</button>
        <button type="button" id="token-forget">Forget</button>
      </form>
    </header>
    <main id="view" tabindex="-1"><p>Loading…</p></main>
  </body>
</html>
""")


def installed(explorer_dir: Path = EXPLORER_DIR) -> bool:
    """Whether every library is in the folder's ``node_modules`` (``make install`` ran
    ``npm ci``)."""
    return all(_path(explorer_dir, library).is_file() for library in LIBRARIES)


def _path(explorer_dir: Path, library: Library) -> Path:
    return explorer_dir / "node_modules" / library.package / library.file


def explorer_html(explorer_dir: Path = EXPLORER_DIR) -> str:
    """The explorer's page, importing the graph library from this app when it is installed,
    else from the CDN (with a warning)."""
    if installed(explorer_dir):
        imports = {
            lib.name: f"{ASSETS_PATH}/{lib.name}.mjs?v={VERSIONS[lib.package]}" for lib in LIBRARIES
        }
    else:
        log.warning(
            "the explorer's graph library is not installed in %s: the page at GET /explore "
            "loads it from %s, which needs internet access in the browser (run `make install` "
            "with npm available to serve it locally)",
            explorer_dir / "node_modules",
            CDN,
        )
        imports = {
            lib.name: f"{CDN}/{lib.package}@{VERSIONS[lib.package]}/{lib.file}" for lib in LIBRARIES
        }
    return _PAGE.substitute(
        assets=ASSETS_PATH, imports=json.dumps({"imports": imports}, indent=None)
    )


def explorer_routes(explorer_dir: Path = EXPLORER_DIR) -> list[Route]:
    """``GET /`` (a redirect), ``GET /explore`` and ``GET /explore/assets/<name>``: the page's
    own files from ``web/``, and the graph library when it is installed."""
    page = explorer_html(explorer_dir)
    libraries = installed(explorer_dir)
    web = explorer_dir / "web"
    own = {path.name for path in web.iterdir() if path.suffix in _WEB_TYPES}

    async def root(request: Request) -> Response:
        return RedirectResponse(PAGE_PATH, status_code=307)

    async def explore(request: Request) -> Response:
        return HTMLResponse(page, headers={"Cache-Control": "no-cache"})

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        library = _LIBRARY_FILES.get(name) if libraries else None
        if library is not None:
            # The URL carries the pinned version (?v=), so a browser may keep the file.
            return FileResponse(
                _path(explorer_dir, library),
                media_type="text/javascript",
                headers={"Cache-Control": "public, max-age=31536000, immutable"},
            )
        if name in own:
            return FileResponse(
                web / name,
                media_type=_WEB_TYPES[Path(name).suffix],
                headers={"Cache-Control": "no-cache"},
            )
        return PlainTextResponse("Not Found", status_code=404)

    return [
        Route("/", root, methods=["GET", "HEAD"]),
        Route(PAGE_PATH, explore, methods=["GET", "HEAD"]),
        Route(ASSETS_PATH + "/{name}", asset, methods=["GET", "HEAD"]),
    ]
