"""Prometheus metrics at ``GET /metrics``: ingestion runs per source, GraphQL operations,
GraphQL requests refused by a limit (``stagegraph_graphql_refusals_total{limit}``,
the scan's refusals before parsing included), and the outgoing webhooks' deliveries
(``stagegraph_notify_{delivered,retried,dropped}_total{host,event}``).

One :class:`Metrics` per app, on its own registry (several apps in one process, as in
tests, do not collide). It is the scheduler's run observer and the factory of the GraphQL
extension that times operations.

The ingestion series come from the run records in the store, read at every scrape
(:meth:`Metrics.refresh`): an API replica that runs no scheduler (``serve --no-scheduler``)
reports the runs the workers recorded, like the replica or worker that ran them. Runs are
counted once per process: a run the local scheduler reported is not counted again from the
store, and a process counts from the newest :data:`RECENT_RUNS` records at its first scrape.

The outgoing webhooks' counters are brought up, at every scrape, to the totals the sender
saves in the store with each receiver's position (:meth:`Metrics.refresh_notify`): the
process that holds the ``notify`` lease counts as it sends, and every other process (the
other workers of ``serve --workers N``, which answer a scrape as often) reports the same
totals, up to the last page of events saved, instead of none.

Who may scrape (:func:`scrape_endpoint`): anyone when ``metrics_auth`` is ``open``, or
``auto`` on a loopback address; otherwise a bearer token the API accepts (any role).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from graphql import GraphQLError
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from strawberry.extensions import SchemaExtension

from api.auth import Authenticator, AuthError
from graph import tracing
from graph.errors import StoreError
from graph.port import GraphStore, RunRecord
from ingestors.notify.config import NotifyTarget
from ingestors.notify.sender import saved_counts

log = logging.getLogger("stagegraph.metrics")
MetricsAuth = Literal["auto", "open", "token"]
LOOPBACK = ("127.0.0.1", "::1", "localhost")
RECENT_RUNS = 50
SUCCESSFUL = ("SUCCEEDED", "PARTIAL")
ANY_STATUS = ("SUCCEEDED", "PARTIAL", "FAILED", "TIMED_OUT", "RUNNING")
Endpoint = Callable[[Request], Awaitable[Response]]
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_OPERATION = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
MAX_OPERATION_NAMES = 100
# The limits a refusal can name (README, "Limits"): a fixed label set.
LIMITS = frozenset(
    {
        "length",
        "tokens",
        "operations",
        "fragments",
        "directives",
        "nesting",
        "repeats",
        "merges",
        "depth",
        "aliases",
        "introspection",
        "cost",
        "timeout",
    }
)


class _SinceLastSuccess(Collector):
    """``stagegraph_ingestion_seconds_since_last_success{source}``, computed at scrape time."""

    def __init__(self) -> None:
        self.last_success: dict[str, datetime] = {}

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(
            "stagegraph_ingestion_seconds_since_last_success",
            "Seconds since the source's last SUCCEEDED or PARTIAL run finished.",
            labels=["source"],
        )
        now = datetime.now(UTC)
        for source, finished in sorted(self.last_success.items()):
            family.add_metric([source], (now - finished).total_seconds())
        yield family


class Metrics:
    """The app's metrics; also a :class:`ingestors.scheduler.RunObserver`."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.runs = Counter(
            "stagegraph_ingestion_runs",
            "Ingestion runs by final status.",
            ["source", "status"],
            registry=r,
        )
        self.running = Gauge(
            "stagegraph_ingestion_running", "Ingestion runs in progress.", ["source"], registry=r
        )
        self.duration = Histogram(
            "stagegraph_ingestion_duration_seconds",
            "Duration of finished ingestion runs.",
            ["source"],
            buckets=(0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800),
            registry=r,
        )
        self.entities = Gauge(
            "stagegraph_ingestion_entities",
            "Entities the source's last run read (added, updated or unchanged), by kind.",
            ["source", "kind"],
            registry=r,
        )
        self.errors = Counter(
            "stagegraph_ingestion_errors",
            "Errors recorded by ingestion runs.",
            ["source"],
            registry=r,
        )
        self._since = _SinceLastSuccess()
        r.register(self._since)
        self.requests = Counter(
            "stagegraph_graphql_requests",
            "GraphQL operations executed.",
            ["operation"],
            registry=r,
        )
        self.request_errors = Counter(
            "stagegraph_graphql_errors",
            "GraphQL operations that returned errors.",
            ["operation"],
            registry=r,
        )
        self.latency = Histogram(
            "stagegraph_graphql_duration_seconds",
            "GraphQL operation latency.",
            ["operation"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
            registry=r,
        )
        self.refusals = Counter(
            "stagegraph_graphql_refusals",
            "GraphQL requests refused by a limit (schema.limits, schema.scan), by the limit.",
            ["limit"],
            registry=r,
        )
        self.store_queries = Histogram(
            "stagegraph_graphql_store_queries",
            "Store statements per GraphQL operation.",
            ["operation"],
            buckets=(1, 2, 3, 5, 8, 13, 21, 34, 55, 100),
            registry=r,
        )
        self.notify_delivered = Counter(
            "stagegraph_notify_delivered",
            "Outgoing webhook events delivered (a 2xx answer), by receiver host and event.",
            ["host", "event"],
            registry=r,
        )
        self.notify_retried = Counter(
            "stagegraph_notify_retried",
            "Outgoing webhook attempts that failed and were retried, by receiver host and event.",
            ["host", "event"],
            registry=r,
        )
        self.notify_dropped = Counter(
            "stagegraph_notify_dropped",
            "Outgoing webhook events given up on (attempts used up, or a final answer such as "
            "a 4xx), by receiver host and event.",
            ["host", "event"],
            registry=r,
        )
        self._operation_names: set[str] = set()
        self._series: dict[str, _OperationSeries] = {}  # by label: at most 102 of them
        self._counted: set[str] = set()  # ids of runs already in the counters
        self._sources: set[str] = set()

    # -- runs ----------------------------------------------------------------------------
    def run_started(self, run: RunRecord) -> None:
        """Nothing: ``running`` is set from the store at every scrape (see :meth:`refresh`),
        which also sees the runs of other processes."""

    def run_finished(self, run: RunRecord) -> None:
        self._counted.add(run.id)
        self._count(run)

    async def refresh(self, store: GraphStore, sources: Sequence[str]) -> None:
        """Bring the ingestion series up to date from the run records in the store: count
        the finished runs not counted yet, and set the running, entity and since-last-success
        gauges from each source's latest runs (``sources`` and those with recent runs)."""
        recent = await store.get_runs(None, RECENT_RUNS)
        for run in reversed(recent):  # oldest first
            if run.status != "RUNNING" and run.id not in self._counted:
                self._counted.add(run.id)
                self._count(run)
        # A run that left the newest records never comes back: forget it (bounded memory).
        self._counted &= {run.id for run in recent}
        self._sources.update(sources)
        self._sources.update(run.source for run in recent)
        names = sorted(self._sources)
        latest = await store.latest_runs(names, ANY_STATUS)
        good = await store.latest_runs(names, SUCCESSFUL)
        for name in names:
            last = latest.get(name)
            self.running.labels(name).set(1 if last and last.status == "RUNNING" else 0)
            if name in good:
                self._successful(good[name])

    def _count(self, run: RunRecord) -> None:
        self.runs.labels(run.source, run.status).inc()
        if run.finished_at is not None and run.status != "SKIPPED":
            self.duration.labels(run.source).observe(
                (run.finished_at - run.started_at).total_seconds()
            )
        if run.errors:
            self.errors.labels(run.source).inc(len(run.errors))
        if run.status in SUCCESSFUL:
            self._successful(run)

    def _successful(self, run: RunRecord) -> None:
        for count in run.counts:
            seen = count.added + count.updated + count.unchanged
            self.entities.labels(run.source, count.kind).set(seen)
        self._since.last_success[run.source] = run.finished_at or datetime.now(UTC)

    # -- outgoing webhooks (an ingestors.notify.sender.DeliveryObserver) ----------------
    async def refresh_notify(self, store: GraphStore, targets: Sequence[NotifyTarget]) -> None:
        """Raise each notify counter to the total saved in the store, where it is behind
        (a counter never goes down: the sender's own count may be ahead of its last save)."""
        counters = {
            "delivered": self.notify_delivered,
            "retried": self.notify_retried,
            "dropped": self.notify_dropped,
        }
        for (outcome, host, event), total in (await saved_counts(store, targets)).items():
            counter = counters.get(outcome)
            if counter is None:
                continue
            labels = {"host": host, "event": event}
            now = self.registry.get_sample_value(f"stagegraph_notify_{outcome}_total", labels)
            if total > (now or 0.0):
                counter.labels(host, event).inc(total - (now or 0.0))

    def delivered(self, host: str, event: str) -> None:
        self.notify_delivered.labels(host, event).inc()

    def retried(self, host: str, event: str) -> None:
        self.notify_retried.labels(host, event).inc()

    def dropped(self, host: str, event: str) -> None:
        self.notify_dropped.labels(host, event).inc()

    # -- GraphQL -------------------------------------------------------------------------
    def operation_label(self, name: str | None) -> str:
        """A bounded label: client-chosen operation names beyond the first 100 are "other"."""
        if not name or not _OPERATION.match(name):
            return "anonymous"
        if name not in self._operation_names:
            if len(self._operation_names) >= MAX_OPERATION_NAMES:
                return "other"
            self._operation_names.add(name)
        return name

    def operation_series(self, name: str | None) -> _OperationSeries:
        """The series an operation named ``name`` is counted in (looked up once a label:
        ``labels()`` costs a lock and a tuple per call)."""
        label = self.operation_label(name)
        series = self._series.get(label)
        if series is None:
            series = _OperationSeries(
                label,
                self.requests.labels(label),
                self.latency.labels(label),
                self.store_queries.labels(label),
            )
            self._series[label] = series
        return series

    def extension(self) -> SchemaExtension:
        return _OperationMetrics(self)

    def count_refusals(self, errors: Iterable[GraphQLError] | None) -> None:
        """Counts each limit named by ``errors`` (their ``extensions.limit``); the app calls
        this for every answer, since a document the scan refuses before parsing never
        reaches the operation extension."""
        for error in errors or ():
            limit = (error.extensions or {}).get("limit")
            if isinstance(limit, str) and limit in LIMITS:
                self.refusals.labels(limit).inc()

    def response(self) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE)


def scrape_open(mode: MetricsAuth, host: str) -> bool:
    """Whether ``/metrics`` answers without a token: ``open``, or ``auto`` on loopback."""
    return mode == "open" or (mode == "auto" and host in LOOPBACK)


def scrape_endpoint(
    metrics: Metrics,
    store: Callable[[], GraphStore | None],
    sources: Sequence[str],
    *,
    open_: bool,
    authenticator: Authenticator,
    notify: Sequence[NotifyTarget] = (),
) -> Endpoint:
    """``GET /metrics``: refreshed from the store's run records and the ``notify`` receivers'
    saved counts (when it is open), behind a
    bearer token unless ``open_``. A token is any the API accepts (static or JWT, any
    role); anonymous read does not open it."""
    if not open_ and not (authenticator.tokens or authenticator.jwt_verifier):
        log.warning(
            "/metrics needs a bearer token, but no tokens or JWT key are configured, so "
            "nothing can scrape it: configure STAGEGRAPH_TOKENS, or set "
            "STAGEGRAPH_METRICS_AUTH=open to serve it without one"
        )
    scrapers = Authenticator(tokens=authenticator.tokens, jwt_verifier=authenticator.jwt_verifier)

    async def endpoint(request: Request) -> Response:
        if not open_:
            try:
                scrapers.authenticate(request.headers.get("authorization"))
            except AuthError as exc:
                client = request.client.host if request.client else "?"
                log.info("refused GET /metrics from %s: %s", client, exc)
                return exc.response()
        active = store()
        if active is not None:
            try:
                await metrics.refresh(active, sources)
                await metrics.refresh_notify(active, notify)
            except StoreError as exc:
                log.warning(
                    "metrics: could not read the run records (%s); serving the last values", exc
                )
        return metrics.response()

    return endpoint


@dataclass(frozen=True)
class _OperationSeries:
    """One operation label's series of :class:`Metrics`."""

    label: str
    requests: Counter
    latency: Histogram
    store_queries: Histogram


class _OperationMetrics(SchemaExtension):
    def __init__(self, metrics: Metrics) -> None:
        super().__init__()
        self.metrics = metrics

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        with tracing.counting() as cell:
            yield
        context = self.execution_context
        series = self.metrics.operation_series(context.operation_name)
        series.requests.inc()
        series.latency.observe(time.perf_counter() - started)
        series.store_queries.observe(cell[0])
        result = context.result
        if getattr(result, "errors", None) or context.pre_execution_errors:
            # Made when first needed: an operation without errors has no errors series.
            self.metrics.request_errors.labels(series.label).inc()
