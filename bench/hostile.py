"""``python -m bench.hostile``: how fast hostile GraphQL documents are refused, and whether a
normal query sent at the same time waits for them.

Starts ``stagegraph serve --demo`` on a free loopback port, then for each hostile body (each
at most 1 MB, the body cap) sends it :data:`ROUNDS` times, each time with a normal query sent
alongside from another thread, and prints per body: the HTTP status and error code, the
median and worst time to the refusal, and the median and worst time of the normal query
sent beside it (compare with the baseline line: the normal query alone).
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import orjson
from graphql import (
    FieldNode,
    OperationDefinitionNode,
    get_introspection_query,
    parse,
    print_ast,
)

from bench.reads import running_server

ROUNDS = 7
MB = 1_048_576
NORMAL: dict[str, object] = {
    "query": '{ entities(kind: "component", first: 20) { totalCount edges { node { ref } } } }'
}


def _fill(unit: Callable[[int], str], head: str = "{", tail: str = "}") -> str:
    """``head`` + as many ``unit(i)`` as fit in a 1 MB body (JSON-escaped) + ``tail``."""
    budget = MB - 200 - len(orjson.dumps(head + tail))
    parts, size, i = [head], 0, 0
    while True:
        piece = unit(i)
        size += len(orjson.dumps(piece)) - 2
        if size > budget:
            break
        parts.append(piece)
        i += 1
    parts.append(tail)
    return "".join(parts)


def _schema_aliases(count: int) -> str:
    """GraphiQL's introspection query with its ``__schema`` field asked ``count`` times."""
    document = parse(get_introspection_query())
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    field = operation.selection_set.selections[0]
    assert isinstance(field, FieldNode)
    asked = " ".join(f"s{i}: {print_ast(field)}" for i in range(count))
    fragments = "\n".join(print_ast(d) for d in document.definitions[1:])
    return f"query {{ {asked} }}\n{fragments}"


def _operations(count: int) -> str:
    return " ".join(f"query q{i} {{__typename}}" for i in range(count))


def hostile_bodies() -> dict[str, dict[str, object]]:
    """The hostile requests, by name (each body at most 1 MB)."""
    unused = "{ __typename } "
    return {
        "10,000 operations, operationName q9999": {
            "query": _operations(10_000),
            "operationName": "q9999",
        },
        "1,000 operations, operationName q999": {
            "query": _operations(1_000),
            "operationName": "q999",
        },
        "1 MB of operations": {"query": _fill(lambda i: f"query q{i} {{__typename}} ", "", "")},
        "10,000 @skip directives": {"query": "{ __typename " + "@skip(if: false) " * 10_000 + "}"},
        "1,000 @skip directives": {"query": "{ __typename " + "@skip(if: false) " * 1_000 + "}"},
        "5,000 unused fragments": {
            "query": unused
            + " ".join(f"fragment f{i} on Query {{ __typename }}" for i in range(5_000))
        },
        "500 unused fragments": {
            "query": unused
            + " ".join(f"fragment f{i} on Query {{ __typename }}" for i in range(500))
        },
        "15 aliases of __schema": {"query": _schema_aliases(15)},
        "1 MB of __typename": {"query": _fill(lambda i: " __typename")},
        "1,900 tokens of __typename": {"query": "{" + " __typename" * 1_900 + "}"},
        "200 same-named fields": {"query": "{" + ' entity(ref: "x") { ref }' * 200 + "}"},
        "1 MB string literal": {"query": '{ entity(ref: "' + "x" * (MB - 200) + '") { ref } }'},
        "1 MB of comments": {"query": _fill(lambda i: "#\n", "", "{ __typename }")},
        "nesting 10,000 deep": {
            "query": "{" + ' entity(ref: "x") {' * 10_000 + " ref" + "}" * 10_001
        },
        "nesting 100 deep": {"query": "{" + ' entity(ref: "x") {' * 100 + " ref" + "}" * 101},
    }


@contextmanager
def demo_server() -> Iterator[str]:
    """``stagegraph serve --demo`` on a free loopback port; yields its base URL."""
    with tempfile.TemporaryDirectory(prefix="stagegraph-hostile-") as work:
        store = f"sqlite:///{work}/demo.db"
        with running_server(store, None, None, Path(work) / "server.log", ["--demo"]) as server:
            yield server.url


def _timed_post(client: httpx.Client, url: str, body: bytes) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = client.post(url, content=body, headers={"Content-Type": "application/json"})
    return (time.perf_counter() - started) * 1000, response


def _send_after(client: httpx.Client, url: str, body: bytes, times: list[float]) -> None:
    time.sleep(0.002)
    times.append(_timed_post(client, url, body)[0])


def _unique(request: dict[str, object], n: int) -> bytes:
    """``request`` with a comment ending its document, so that no cache of parsed or
    validated documents answers it."""
    return orjson.dumps({**request, "query": f"{request['query']}\n#{n}"})


def measure(base: str, request: dict[str, object]) -> tuple[str, list[float], list[float]]:
    """(status and code, refusal times, times of the normal query sent beside it), in ms."""
    url = f"{base}/graphql"
    normal = orjson.dumps(NORMAL)
    refusals: list[float] = []
    beside: list[float] = []
    outcome = ""
    with httpx.Client(timeout=120) as hostile, httpx.Client(timeout=120) as reader:
        _timed_post(hostile, url, _unique(request, 0))  # warm-up (the connection)
        for n in range(1, ROUNDS + 1):
            # The normal query leaves just after the hostile one, so it arrives while the
            # server is busy with it (if it is).
            thread = threading.Thread(target=_send_after, args=(reader, url, normal, beside))
            thread.start()
            elapsed, response = _timed_post(hostile, url, _unique(request, n))
            thread.join()
            refusals.append(elapsed)
            errors = response.json().get("errors") or [{}]
            code = (errors[0].get("extensions") or {}).get("code", "-")
            limit = (errors[0].get("extensions") or {}).get("limit")
            outcome = f"{response.status_code} {code}" + (f" ({limit})" if limit else "")
    return outcome, refusals, beside


def baseline(base: str) -> list[float]:
    url = f"{base}/graphql"
    body = orjson.dumps(NORMAL)
    with httpx.Client(timeout=60) as client:
        _timed_post(client, url, body)
        return [_timed_post(client, url, body)[0] for _ in range(ROUNDS * 3)]


def main() -> None:
    with demo_server() as base:
        alone = baseline(base)
        print(
            f"normal query alone: median {statistics.median(alone):.1f} ms, worst {max(alone):.1f} ms"
        )
        print(
            f"{'hostile body':45} {'bytes':>9}  {'answer':34} {'refused in (median/worst)':>26}  {'normal query beside it':>24}"
        )
        for name, request in hostile_bodies().items():
            body = orjson.dumps(request)
            outcome, refusals, beside = measure(base, request)
            print(
                f"{name:45} {len(body):>9}  {outcome:34} "
                f"{statistics.median(refusals):>11.1f} / {max(refusals):>7.1f} ms  "
                f"{statistics.median(beside):>10.1f} / {max(beside):>7.1f} ms"
            )
        health = httpx.get(f"{base}/healthz", timeout=10).status_code
        print(f"/healthz after: {health}")


if __name__ == "__main__":
    main()
