"""A GitLab REST API (v4) on loopback, serving the recorded payloads with GitLab's headers.

The state is plain data a test changes between runs (remove a project, add a pipeline, make
a project's calls fail); :meth:`FakeGitlab.refresh` registers the routes of what was added.
Lists are paged as GitLab pages them (``X-Page``, ``X-Next-Page``, ``X-Total``,
``X-Total-Pages``) with a page size capped at ``max_per_page`` (GitLab caps it at 100), so a
test sees pagination followed with few items.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import time
from typing import Any
from urllib.parse import quote

from tests.ingestors.gitlab import recorded
from tests.loopback import LoopbackServer, Reply, Request, next_page_pages

API = "/api/v4"
GROUP = "acme/platform"
RATE_LIMIT = {"RateLimit-Limit": "2000", "RateLimit-Remaining": "1990"}


def _error(status: int, message: str) -> Reply:
    return status, RATE_LIMIT, {"message": message}


class FakeGitlab:
    def __init__(self, server: LoopbackServer, *, max_per_page: int = 1) -> None:
        self.server = server
        self.max_per_page = max_per_page
        self.projects = recorded.projects()
        self.files = {
            p["path_with_namespace"]: recorded.repository(p["path_with_namespace"])
            for p in self.projects
        }
        self.pipelines = {
            p["path_with_namespace"]: recorded.pipelines(p["path_with_namespace"])
            for p in self.projects
        }
        self.environments = {
            p["path_with_namespace"]: recorded.load(
                f"{recorded.short(p['path_with_namespace'])}_environments.json"
            )
            for p in self.projects
        }
        self.deployments = {
            p["path_with_namespace"]: recorded.load(
                f"{recorded.short(p['path_with_namespace'])}_deployments.json"
            )
            for p in self.projects
        }
        self.failing: set[str] = set()
        """Project paths whose pipeline calls answer 500."""
        self.rate_limit_first: int = 0
        """How many of the next group listings answer 429 with Retry-After first."""
        self.rate_limit_reset_in: int | None = None
        """When set, those 429s carry no Retry-After, only ``RateLimit-Remaining: 0`` and a
        ``RateLimit-Reset`` this many seconds ahead (GitLab's throttle answer)."""
        self.refresh()

    @property
    def api_url(self) -> str:
        return self.server.url + API

    def refresh(self) -> None:
        self.server.route("GET", f"{API}/groups/{quote(GROUP, safe='')}/projects", self._projects)
        for project in self.projects:
            path = project["path_with_namespace"]
            self.server.route("GET", f"{API}/projects/{quote(path, safe='')}", self._by_path(path))
            base = f"{API}/projects/{project['id']}"
            for file in self.files.get(path, {}):
                self.server.route(
                    "GET", f"{base}/repository/files/{quote(file, safe='')}", self._file(path, file)
                )
            self.server.route("GET", f"{base}/pipelines", self._pipelines(path))
            for pipeline in self.pipelines.get(path, []):
                self.server.route(
                    "GET",
                    f"{base}/pipelines/{pipeline['id']}",
                    self._pipeline(path, pipeline["id"]),
                )
            self.server.route("GET", f"{base}/environments", self._environments(path))
            self.server.route("GET", f"{base}/deployments", self._deployments(path))

    def _by_path(self, path: str) -> Any:
        def handler(request: Request) -> Reply:
            found = [p for p in self.projects if p["path_with_namespace"] == path]
            return (200, RATE_LIMIT, found[0]) if found else _error(404, "404 Project Not Found")

        return handler

    def project(self, path: str) -> dict[str, Any]:
        return next(p for p in self.projects if p["path_with_namespace"] == path)

    def _capped(self, request: Request) -> Request:
        asked = int(request.param("per_page") or 20)
        query = {**request.query, "per_page": [str(min(asked, self.max_per_page))]}
        return dataclasses.replace(request, query=query)

    def _projects(self, request: Request) -> Reply:
        if self.rate_limit_first > 0:
            self.rate_limit_first -= 1
            if self.rate_limit_reset_in is not None:
                reset = str(int(time.time()) + self.rate_limit_reset_in)
                throttled = {"RateLimit-Remaining": "0", "RateLimit-Reset": reset}
                return 429, throttled, {"message": "Retry later"}
            return (
                429,
                {"Retry-After": "7", "RateLimit-Remaining": "0", "RateLimit-Reset": "1700000000"},
                {"message": "Retry later"},
            )
        status, headers, body = next_page_pages(self.projects)(self._capped(request))
        return status, {**headers, **RATE_LIMIT}, body

    def _file(self, path: str, file: str) -> Any:
        def handler(request: Request) -> Reply:
            text = self.files.get(path, {}).get(file)
            if text is None:
                return _error(404, "404 File Not Found")
            content = text.encode()
            return (
                200,
                RATE_LIMIT,
                {
                    "file_name": file.rsplit("/", 1)[-1],
                    "file_path": file,
                    "size": len(content),
                    "encoding": "base64",
                    "content": base64.b64encode(content).decode(),
                    "content_sha256": hashlib.sha256(content).hexdigest(),
                    "ref": request.param("ref"),
                    "blob_id": hashlib.sha1(content).hexdigest(),
                    "commit_id": "f00d" * 10,
                    "last_commit_id": "beef" * 10,
                    "execute_filemode": False,
                },
            )

        return handler

    def _pipelines(self, path: str) -> Any:
        def handler(request: Request) -> Reply:
            if path in self.failing:
                return _error(500, "500 Internal Server Error")
            size = int(request.param("per_page") or 20)
            keys = (
                "id",
                "iid",
                "project_id",
                "sha",
                "ref",
                "status",
                "source",
                "created_at",
                "updated_at",
                "web_url",
            )
            listed = [{k: p[k] for k in keys} for p in self.pipelines.get(path, [])]
            return 200, RATE_LIMIT, listed[:size]

        return handler

    def _pipeline(self, path: str, pipeline_id: int) -> Any:
        def handler(request: Request) -> Reply:
            for pipeline in self.pipelines.get(path, []):
                if pipeline["id"] == pipeline_id:
                    return 200, RATE_LIMIT, pipeline
            return _error(404, "404 Not found")

        return handler

    def _environments(self, path: str) -> Any:
        def handler(request: Request) -> Reply:
            status, headers, body = next_page_pages(self.environments.get(path, []))(
                self._capped(request)
            )
            return status, {**headers, **RATE_LIMIT}, body

        return handler

    def _deployments(self, path: str) -> Any:
        """GitLab's ``?environment=<name>`` filter, ``order_by=created_at&sort=desc``
        (ascending by id otherwise) and ``per_page`` (one page is all the source reads)."""

        def handler(request: Request) -> Reply:
            size = min(int(request.param("per_page") or 20), 100)
            found = list(self.deployments.get(path, []))
            wanted = request.param("environment")
            if wanted is not None:
                found = [d for d in found if d["environment"]["name"] == wanted]
            if request.param("order_by") == "created_at":
                found.sort(key=lambda d: str(d["created_at"]))
            else:
                found.sort(key=lambda d: int(d["id"]))
            if request.param("sort", "asc") == "desc":
                found.reverse()
            return 200, RATE_LIMIT, found[:size]

        return handler
