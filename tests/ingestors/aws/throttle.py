"""A real loopback HTTP proxy in front of moto that throttles the first requests it gets,
answering as AWS does (HTTP 400, ``ThrottlingException``), then passes everything through;
it can also deny every call of one service (HTTP 400, ``AccessDeniedException``, as AWS
answers a role without that service's permissions), recognised by the service name of the
request's SigV4 credential scope."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

THROTTLED = b'{"__type": "ThrottlingException", "message": "Rate exceeded"}'
DENIED = (
    b'{"__type": "AccessDeniedException", "message": "User: arn:aws:iam::123456789012:user/'
    b'stagegraph is not authorized to perform this action"}'
)
_HOP_BY_HOP = {"host", "content-length", "connection", "transfer-encoding", "keep-alive"}


@dataclass
class Proxy:
    url: str
    throttle: int
    throttled: int = 0
    forwarded: int = 0
    denied: int = 0


@contextmanager
def throttling_proxy(upstream: str, throttle: int, deny: str | None = None) -> Iterator[Proxy]:
    """Yield a proxy to ``upstream`` that throttles its first ``throttle`` requests and
    denies every request signed for the service ``deny`` (its signing name: ``sqs``)."""
    lock = threading.Lock()
    client = httpx.Client(base_url=upstream, timeout=30)
    proxy = Proxy(url="", throttle=throttle)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _handle(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            scope = self.headers.get("Authorization", "").split("Credential=", 1)[-1]
            if deny is not None and f"/{deny}/aws4_request" in scope:
                with lock:
                    proxy.denied += 1
                self._answer_error(DENIED, "AccessDeniedException")
                return
            with lock:
                throttle_this = proxy.throttled < proxy.throttle
                if throttle_this:
                    proxy.throttled += 1
                else:
                    proxy.forwarded += 1
            if throttle_this:
                self._answer_error(THROTTLED, "ThrottlingException")
                return
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            answer = client.request(self.command, self.path, headers=headers, content=body)
            self.send_response(answer.status_code)
            for key, value in answer.headers.items():
                if key.lower() not in _HOP_BY_HOP and key.lower() != "content-encoding":
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        def _answer_error(self, body: bytes, error_type: str) -> None:
            self.send_response(400)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("x-amzn-ErrorType", error_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    proxy.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()
        client.close()
