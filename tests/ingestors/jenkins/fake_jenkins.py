"""A Jenkins controller on loopback, serving the recorded payloads as Jenkins answers
``tree=`` queries: basic auth checked, ``{0,N}`` build ranges applied, and optionally a CSRF
crumb demanded (``403 No valid crumb``) as some controllers do.

URLs in the answers keep the recorded root (``http://jenkins.example.com/``), as with a
controller whose configured root URL is not the address it is reached at: the source must
build its calls from its own ``url``.

The state is plain data a test changes between runs (drop a job from a folder, add a build,
make a path fail).
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from tests.ingestors.jenkins.recorded import FIXTURES
from tests.loopback import LoopbackServer, Reply, Request

USER = "stagegraph"
TOKEN = "11a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7"
CRUMB = "0f4a5b6c7d8e9f"
SESSION = "JSESSIONID.4f2a=node01abcdef"
_RANGE = re.compile(r"\{(\d+),(\d+)\}$")

#: request path -> fixture
PATHS = {
    "/api/json": "root.json",
    "/job/team-payments/api/json": "team-payments.json",
    "/job/team-payments/job/archive/api/json": "team-payments_archive.json",
    "/job/platform/api/json": "platform.json",
    "/job/team-payments/job/payments/api/json": "team-payments_payments.json",
    "/job/team-payments/job/payments/job/main/api/json": "team-payments_payments_main.json",
    "/job/team-payments/job/payments/job/feature%252Fretry/api/json": (
        "team-payments_payments_feature-retry.json"
    ),
    "/job/team-payments/job/payments-nightly/api/json": "team-payments_payments-nightly.json",
    "/job/team-payments/job/archive/job/old-deploy/api/json": (
        "team-payments_archive_old-deploy.json"
    ),
    "/job/platform/job/search-build/api/json": "platform_search-build.json",
    "/job/platform/job/infra-apply/api/json": "platform_infra-apply.json",
    "/job/smoke-tests/api/json": "smoke-tests.json",
}


class FakeJenkins:
    def __init__(self, server: LoopbackServer) -> None:
        self.server = server
        self.bodies: dict[str, dict[str, Any]] = {}
        for path, fixture in PATHS.items():
            self.bodies[path] = json.loads((FIXTURES / fixture).read_text())
        self.failing: set[str] = set()
        """Paths that answer 500."""
        self.busy: dict[str, list[tuple[int, str]]] = {}
        """Per path, answers given first, in turn: ``(429 or 503, Retry-After seconds)``, as
        Jenkins behind a proxy answers when overloaded or restarting."""
        self.require_crumb = False
        self.crumbs_issued = 0
        for path in PATHS:
            server.route("GET", path, self._answer(path))
        server.route("GET", "/crumbIssuer/api/json", self._crumb)

    @property
    def url(self) -> str:
        return self.server.url

    def drop(self, listing: str, name: str) -> None:
        """Remove the item ``name`` from the folder served at ``listing``."""
        body = self.bodies[listing]
        body["jobs"] = [j for j in body["jobs"] if j["name"] != name]

    def _denied(self, request: Request) -> Reply | None:
        expected = "Basic " + base64.b64encode(f"{USER}:{TOKEN}".encode()).decode()
        if request.headers.get("authorization") != expected:
            return 401, {"WWW-Authenticate": 'Basic realm="Jenkins"'}, None
        return None

    def _answer(self, path: str) -> Any:
        def handler(request: Request) -> Reply:
            denied = self._denied(request)
            if denied is not None:
                return denied
            if self.require_crumb and (
                request.headers.get("jenkins-crumb") != CRUMB
                or SESSION not in request.headers.get("cookie", "")
            ):
                return 403, {}, "Error 403 No valid crumb was included in the request"
            if path in self.failing:
                return 500, {}, "java.lang.NullPointerException"
            if self.busy.get(path):
                status, seconds = self.busy[path].pop(0)
                return status, {"Retry-After": seconds}, "Jenkins is getting ready to work"
            body = dict(self.bodies[path])
            tree = request.param("tree") or ""
            if "builds" in body:
                match = _RANGE.search(tree)
                if "builds[" not in tree or match is None:
                    return 400, {}, "the test Jenkins expects builds[...]{m,n}"
                start, end = int(match.group(1)), int(match.group(2))
                body["builds"] = body["builds"][start:end]
            elif "jobs[" not in tree:
                return 400, {}, "the test Jenkins expects jobs[...]"
            return 200, {"X-Jenkins": "2.452.1"}, body

        return handler

    def _crumb(self, request: Request) -> Reply:
        denied = self._denied(request)
        if denied is not None:
            return denied
        self.crumbs_issued += 1
        body = json.loads((FIXTURES / "crumb.json").read_text())
        return 200, {"Set-Cookie": f"{SESSION}; Path=/; HttpOnly"}, body
