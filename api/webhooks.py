"""``POST /webhooks/github``, ``/webhooks/gitlab`` and ``/webhooks/git/{source}``: signed
deliveries are recorded for the worker that holds their source's lease, and answered 202.

A delivery is never worked on in the request (:mod:`ingestors.inbox` does that). Answers:

- 401: unsigned, or signed with no configured source's secret (logged with the sender's
  address and delivery id; the body is not echoed);
- 400: the body is not JSON, or a GitHub delivery without ``X-GitHub-Delivery``;
- 200: ``ping``; a delivery whose id was recorded before (a replay, nothing done);
- 202: recorded (``{"status": "accepted", "deliveries": [{source, scope}]}``), or
  signed but asking nothing (``{"status": "ignored", "reason": ...}``).

What each event asks is written in :mod:`ingestors.webhooks`.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from graph.port import Deliveries, Delivery
from ingestors.contract import SourceConfig
from ingestors.webhooks import (
    Target,
    github_candidates,
    github_targets,
    gitlab_candidates,
    gitlab_targets,
    signed_by,
    token_of,
)

log = logging.getLogger("stagegraph.webhooks")

#: the largest delivery read (GitHub caps its payloads at 25 MB)
MAX_DELIVERY_BYTES = 25 * 1024 * 1024


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _answer(code: int, **body: Any) -> Response:
    return JSONResponse(body, status_code=code)


class Webhooks:
    """The three webhook routes over the configured ``sources``; deliveries go to the store
    ``store()`` gives, and ``wake()`` tells this process's inbox one arrived."""

    def __init__(
        self,
        sources: Sequence[SourceConfig],
        store: Callable[[], Deliveries | None],
        wake: Callable[[], None],
    ) -> None:
        self._sources = list(sources)
        self._store = store
        self._wake = wake

    def routes(self) -> list[Route]:
        return [
            Route("/webhooks/github", self.github, methods=["POST"]),
            Route("/webhooks/gitlab", self.gitlab, methods=["POST"]),
            Route("/webhooks/git/{source}", self.git, methods=["POST"]),
        ]

    async def github(self, request: Request) -> Response:
        try:
            body = await _body(request)
            event = request.headers.get("x-github-event", "")
            delivery = request.headers.get("x-github-delivery", "")
            signature = _signature(request, "github", delivery)
            payload = _json(body)
            signers = [
                s
                for s in github_candidates(self._sources, payload)
                if signed_by(s, body, signature)
            ]
            if not signers:
                raise _refused(request, "github", delivery, "no configured source's secret")
            if event == "ping":
                return _answer(200, status="pong", sources=[s.name for s in signers])
            if not delivery:
                raise _Refused(400, "X-GitHub-Delivery is missing; it names the delivery")
            targets, reason = github_targets(signers, event, payload)
            return await self._record(f"github:{delivery}", targets, reason, body)
        except _Refused as refused:
            return _answer(refused.status, error=refused.message)

    async def gitlab(self, request: Request) -> Response:
        try:
            body = await _body(request)
            token = request.headers.get("x-gitlab-token", "")
            delivery = request.headers.get("x-gitlab-event-uuid") or uuid.uuid4().hex
            if not token:
                raise _refused(request, "gitlab", delivery, "no X-Gitlab-Token")
            payload = _json(body)
            signers = [s for s in gitlab_candidates(self._sources, payload) if token_of(s, token)]
            if not signers:
                raise _refused(request, "gitlab", delivery, "no configured source's secret")
            event = request.headers.get("x-gitlab-event", "")
            targets, reason = gitlab_targets(signers, event, payload)
            return await self._record(f"gitlab:{delivery}", targets, reason, body)
        except _Refused as refused:
            return _answer(refused.status, error=refused.message)

    async def git(self, request: Request) -> Response:
        name = request.path_params["source"]
        try:
            body = await _body(request)
            delivery = request.headers.get("x-github-delivery") or uuid.uuid4().hex
            signature = _signature(request, "git", delivery)
            source = next((s for s in self._sources if s.name == name and s.type == "git"), None)
            if source is None or not signed_by(source, body, signature):
                raise _refused(request, "git", delivery, f"not signed for git source {name!r}")
            folders = tuple(
                p.strip("/") for p in request.query_params.getlist("path") if p.strip("/")
            )
            target = Target(name, folders, request.headers.get("x-github-event") or "push")
            return await self._record(f"git:{delivery}", [target], "")
        except _Refused as refused:
            return _answer(refused.status, error=refused.message)

    async def _record(
        self, delivery: str, targets: list[Target], reason: str, body: bytes = b""
    ) -> Response:
        if not targets:
            return _answer(202, status="ignored", reason=reason)
        store = self._store()
        if store is None:
            return _answer(503, error="the store is not open yet; deliver again")
        now = datetime.now(UTC)
        fresh = []
        for target in targets:
            recorded = Delivery(
                f"{delivery}:{target.source}",
                target.source,
                target.event,
                now,
                target.scope,
                payload=body.decode("utf-8", "replace") if target.direct else None,
            )
            if await store.record_delivery(recorded):
                fresh.append(target)
        if not fresh:
            return _answer(
                200, status="duplicate", reason=f"delivery {delivery} was received before"
            )
        self._wake()
        log.info(
            "webhook delivery %s recorded: %s",
            delivery,
            "; ".join(f"{t.source} {', '.join(t.scope) or '(all)'}" for t in fresh),
        )
        return _answer(
            202,
            status="accepted",
            deliveries=[{"source": t.source, "scope": list(t.scope)} for t in fresh],
        )


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_DELIVERY_BYTES:
        raise _Refused(413, f"a delivery is at most {MAX_DELIVERY_BYTES} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_DELIVERY_BYTES:
            raise _Refused(413, f"a delivery is at most {MAX_DELIVERY_BYTES} bytes")
    return bytes(body)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise _Refused(400, "the body is not JSON; send the payload as application/json") from None


def _signature(request: Request, sender: str, delivery: str) -> str:
    signature = request.headers.get("x-hub-signature-256", "")
    if not signature:
        raise _refused(request, sender, delivery, "no X-Hub-Signature-256")
    return signature


def _refused(request: Request, sender: str, delivery: str, why: str) -> _Refused:
    client = request.client.host if request.client else "?"
    log.warning(
        "refused a %s webhook delivery %s from %s: %s", sender, delivery or "-", client, why
    )
    return _Refused(
        401,
        "the delivery is not signed with the secret of a source configured for it; set the "
        "webhook's secret to the source's webhook.secret",
    )
