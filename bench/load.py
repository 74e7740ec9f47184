"""Throughput: ``clients`` threads, each on its own keep-alive connection, sending one
request after another for ``seconds``; completed requests per second over all of them.

The client does as little as it can (the answer's status is checked, the body is not
parsed), so that on a small machine the servers, not the client, use the cores.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx

Send = Callable[[httpx.Client], httpx.Response]


def throughput(base_url: str, send: Send, *, clients: int = 8, seconds: float = 10.0) -> float:
    """Requests per second that ``clients`` concurrent clients completed through ``send``
    (which makes one request on the client it is given). A failed answer raises."""
    done = [0] * clients
    failures: list[str] = []
    start = threading.Barrier(clients + 1)
    stop = threading.Event()

    def client(index: int) -> None:
        try:
            with httpx.Client(base_url=base_url, timeout=120) as http:
                send(http).raise_for_status()  # connect and warm up before the clock starts
                start.wait()
                while not stop.is_set():
                    response = send(http)
                    if response.status_code != 200:
                        failures.append(f"HTTP {response.status_code}: {response.text[:200]}")
                        return
                    done[index] += 1
        except (httpx.HTTPError, threading.BrokenBarrierError) as exc:
            failures.append(f"{type(exc).__name__}: {exc}")
            start.abort()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    try:
        start.wait()
    except threading.BrokenBarrierError:
        stop.set()
        raise RuntimeError(f"throughput: a client failed to start: {failures[:1]}") from None
    began = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if failures:
        raise RuntimeError(f"throughput: a request failed: {failures[0]}")
    return sum(done) / elapsed
