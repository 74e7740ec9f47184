"""docker-compose.yml and the Dockerfile, checked without Docker: every service has a
healthcheck that fits it (the worker its own port), the image installs only the runtime
lock, whose pins equal the full lock's, and builds GraphiQL's files in (no CDN)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import yaml

from api.playground import PLAYGROUND_DIR

ROOT = Path(__file__).resolve().parents[1]
DEV_TOOLS = ("pytest", "mypy", "ruff", "playwright", "moto", "pyinstrument")
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==(\S+)$", re.MULTILINE)


def _compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def _check(service: dict[str, Any]) -> str:
    test = service["healthcheck"]["test"]
    return " ".join(test) if isinstance(test, list) else str(test)


def _pins(name: str) -> dict[str, str]:
    return {k.lower(): v for k, v in PIN.findall((ROOT / name).read_text())}


def _dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def test_every_compose_service_has_a_healthcheck_or_says_it_needs_none() -> None:
    services = _compose()["services"]

    missing = [name for name, s in services.items() if "healthcheck" not in s]

    assert missing == []
    assert services["ingest-demo"]["healthcheck"] == {"disable": True}  # one-shot


def test_api_checks_readiness_on_its_port_and_runs_no_scheduler() -> None:
    api = _compose()["services"]["api"]

    assert api["command"] == ["serve", "--no-scheduler"]
    assert "http://127.0.0.1:8000/readyz" in _check(api)
    assert "127.0.0.1:8000:8000" in api["ports"]


def test_worker_checks_health_on_a_port_of_its_own() -> None:
    worker = _compose()["services"]["worker"]

    assert worker["command"] == ["worker"]
    assert worker["environment"]["STAGEGRAPH_WORKER_PORT"] == "8001"
    assert "http://127.0.0.1:8001/healthz" in _check(worker)
    assert ":8000" not in _check(worker)
    assert "127.0.0.1:8001:8001" in worker["ports"]


def test_compose_neo4j_is_not_on_the_tests_port() -> None:
    neo4j = _compose()["services"]["neo4j"]

    assert not any(":7697" in port for port in neo4j["ports"])
    assert "healthcheck" in neo4j


def test_runtime_lock_pins_what_the_full_lock_pins_without_dev_tools() -> None:
    runtime = _pins("requirements-runtime.lock")
    full = _pins("requirements.lock")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {re.split(r"[<>=\[ ]", d, maxsplit=1)[0].lower() for d in project["dependencies"]}

    assert {name: full.get(name) for name in runtime} == runtime
    assert wanted <= set(runtime)
    assert [tool for tool in DEV_TOOLS if tool in runtime] == []


def test_image_installs_the_runtime_lock_and_builds_graphiql_in() -> None:
    dockerfile = _dockerfile()
    stages = re.findall(r"^FROM (\S+)(?: AS (\S+))?", dockerfile, re.MULTILINE)
    installs = re.findall(r"pip install[^\n]* -r (\S+)", dockerfile)
    target = PLAYGROUND_DIR.relative_to(ROOT) / "node_modules"
    ignored = (ROOT / ".dockerignore").read_text().split()

    assert installs == ["requirements-runtime.lock"]
    assert stages[0][0].startswith("node:") and stages[0][1] == "playground"
    assert "npm ci" in dockerfile
    assert f"COPY --from=playground /playground/node_modules ./{target}" in dockerfile
    assert "--editable" in dockerfile  # the app reads the files next to /app/api
    assert str(target) in ignored  # the host's node_modules never replace the built ones


def test_image_healthcheck_follows_the_api_port() -> None:
    healthcheck = next(
        line for line in _dockerfile().splitlines() if line.strip().startswith('CMD ["python"')
    )

    assert "STAGEGRAPH_PORT" in healthcheck
    assert "/readyz" in healthcheck
