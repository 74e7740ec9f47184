"""Run the real ``stagegraph`` CLI as a subprocess: ingest commands and a live server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import NEO4J_PASSWORD, NEO4J_USER

STAGEGRAPH = str(Path(sys.executable).with_name("stagegraph"))


def env(store_url: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    return {
        **os.environ,
        "STAGEGRAPH_STORE": store_url,
        "NEO4J_USER": NEO4J_USER,
        "NEO4J_PASSWORD": NEO4J_PASSWORD,
        "COLUMNS": "200",
        **(extra or {}),
    }


def cli(store_url: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [STAGEGRAPH, *args],
        env=env(store_url),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(
    store_url: str,
    *extra: str,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
    log: Path | None = None,
) -> Iterator[str]:
    """Start ``stagegraph serve`` on a free loopback port; yield its base URL once ready.
    ``environ`` adds environment variables (settings) to the server's; ``log`` takes its
    output (by default a temporary file: a pipe nobody reads would stall a server that logs
    more than the pipe holds)."""
    port = free_port()
    if log is None:
        with (
            tempfile.TemporaryDirectory(prefix="stagegraph-serve-") as folder,
            running_server(
                store_url, *extra, cwd=cwd, environ=environ, log=Path(folder) / "serve.log"
            ) as base,
        ):
            yield base
        return
    output = log.open("w")
    # One worker unless the test asks for more: a process per core costs every test time.
    workers = () if any(arg.startswith("--workers") for arg in extra) else ("--workers", "1")
    process = subprocess.Popen(
        [STAGEGRAPH, "serve", "--port", str(port), *workers, *extra],
        env=env(store_url, environ),
        cwd=cwd,
        stdout=output,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output.close()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                said = log.read_text()
                raise AssertionError(f"server exited with {process.returncode}:\n{said}")
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("server did not become ready in 60 s")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def graphql(base: str, query: str, **variables: object) -> dict[str, Any]:
    response = httpx.post(
        f"{base}/graphql", json={"query": query, "variables": variables}, timeout=30
    )
    response.raise_for_status()
    body = response.json()
    assert "errors" not in body, body
    data = body["data"]
    assert isinstance(data, dict)
    return data
