"""A cap on request bodies: larger ones get HTTP 413 before anything parses them.

A declared ``Content-Length`` over the cap is refused at once; a chunked body is read up
to the cap and refused as soon as it goes over. A body within the cap is handed on whole.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def _too_large(max_bytes: int) -> JSONResponse:
    message = (
        f"request body is over the limit of {max_bytes} bytes: send a smaller query or "
        "fewer variables (split large mutations into several calls)"
    )
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": "PAYLOAD_TOO_LARGE"}}]},
        status_code=413,
        headers={"Connection": "close"},
    )


class BodyLimit:
    """ASGI wrapper refusing HTTP request bodies over ``max_bytes`` with 413."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _too_large(self.max_bytes)(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await _too_large(self.max_bytes)(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)
