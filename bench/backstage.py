"""Backstage's own catalog backend (``@backstage/plugin-catalog-backend`` under
``@backstage/backend-defaults``, from npm, pinned in ``bench/peers/package-lock.json``) as a
child process on a free loopback port: SQLite in memory, no auth policy, the catalog's
``rules`` opened to every kind we serve and its ``locations`` of type ``file``.

:func:`running_backstage` starts it and waits until its processing has settled (or until
an expected number of entities is visible) and stops it on exit. The node modules are
installed by ``make compat`` / ``make bench-peers`` (``npm ci --prefix bench/peers``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.reads import free_port

PEERS = Path(__file__).resolve().parent / "peers"
SCRIPT = PEERS / "backstage.js"
KINDS = (
    "Component",
    "API",
    "Resource",
    "System",
    "Domain",
    "Group",
    "User",
    "Location",
    "Template",
)
START_TIMEOUT = 120.0


class PeerError(RuntimeError):
    """A peer (Backstage, @neo4j/graphql) could not be installed, started or read."""


def require_node_modules() -> None:
    """Fail with the command to run when ``npm ci`` has not installed the peers."""
    if shutil.which("node") is None:
        raise PeerError("node is not on PATH: install Node.js 20 or newer")
    if not (PEERS / "node_modules" / ".package-lock.json").exists():
        raise PeerError(
            f"the peers' node modules are missing in {PEERS}: run `make compat` or "
            f"`npm ci --prefix {PEERS}`"
        )


def app_config(port: int, locations: Sequence[str]) -> dict[str, object]:
    """The backend's config (``app-config.yaml``; JSON is YAML): ``locations`` are file
    targets (absolute paths, globs allowed)."""
    return {
        "backend": {
            "baseUrl": f"http://127.0.0.1:{port}",
            "listen": {"host": "127.0.0.1", "port": port},
            "database": {"client": "better-sqlite3", "connection": ":memory:"},
            "auth": {"dangerouslyDisableDefaultAuthPolicy": True},
        },
        "catalog": {
            "rules": [{"allow": list(KINDS)}],
            "locations": [{"type": "file", "target": target} for target in locations],
            # process once (first pass right after start), not again during the run
            "processingInterval": {"hours": 24},
        },
    }


@dataclass
class Backstage:
    """A running backend: its catalog API's base URL, its process and its log."""

    url: str  # .../api/catalog
    process: subprocess.Popen[bytes]
    log: Path
    started: float  # time.perf_counter() when the process was started

    def total(self, http: httpx.Client) -> int:
        response = http.get(f"{self.url}/entities/by-query", params={"limit": 1})
        response.raise_for_status()
        return int(response.json()["totalItems"])

    def rss_mb(self) -> float:
        try:
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0


def _wait_listening(backstage: Backstage, http: httpx.Client) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if backstage.process.poll() is not None:
            raise PeerError(
                f"Backstage's backend exited ({backstage.process.returncode}); see {backstage.log}"
            )
        try:
            if http.get(f"{backstage.url}/entities", params={"limit": 1}).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise PeerError(f"Backstage's backend was not listening in 120 s; see {backstage.log}")
        time.sleep(0.2)


def wait_processed(
    backstage: Backstage,
    http: httpx.Client,
    *,
    count_only: bool = False,
    quiet: float = 3.0,
    timeout: float = 900.0,
) -> float:
    """Seconds from start until the catalog last changed, once it has not changed for
    ``quiet`` seconds: the whole answer of ``/entities`` (stitching included), or with
    ``count_only`` (large catalogs) the number of entities."""
    deadline = time.monotonic() + timeout
    last, since, changed = "", time.monotonic(), time.perf_counter()
    while time.monotonic() < deadline:
        if count_only:
            body = str(backstage.total(http))
        else:
            response = http.get(f"{backstage.url}/entities")
            response.raise_for_status()
            body = response.text
        if body != last or body in ("0", "[]"):
            last, since, changed = body, time.monotonic(), time.perf_counter()
        elif time.monotonic() - since >= quiet:
            return changed - backstage.started
        time.sleep(0.1 if count_only else 0.5)
    raise PeerError(f"Backstage's catalog did not settle in {timeout:.0f} s; see {backstage.log}")


@contextmanager
def running_backstage(work: Path, locations: Sequence[str]) -> Iterator[Backstage]:
    """Start the backend on ``locations`` (config and log in ``work``); stopped on exit.
    It is listening when this yields; call :func:`wait_processed` for the catalog."""
    require_node_modules()
    work = work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = work / "app-config.yaml"
    config.write_text(json.dumps(app_config(port, locations), indent=2))
    log = work / "backstage.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            ["node", str(SCRIPT), "--config", str(config)],
            cwd=PEERS,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    backstage = Backstage(f"http://127.0.0.1:{port}/api/catalog", process, log, time.perf_counter())
    try:
        with httpx.Client(timeout=60) as http:
            _wait_listening(backstage, http)
        yield backstage
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
