"""The contract between a source package and the rest of Stagegraph: what every entry under
``sources:`` in ``stagegraph.yaml`` has (:class:`SourceConfig`, its :class:`Schedule` and
durations), the :data:`Fetch` coroutine the runner calls, and :class:`SourceType`, which ties
a config model to the factory of its fetch.

Every source package imports this module; it imports no source package (the table of
source types is :mod:`ingestors.registry`). The fields every source has::

    - name: acme-catalog            # a valid name: 1-63 of [a-zA-Z0-9] with -_. inside
      type: git                     # a key of ingestors.registry.SOURCE_TYPES
      schedule: {every: 30m}        # or {cron: "*/15 * * * *"} (UTC); none: on request only
      timeout: 10m                  # durations: 90s, 30m, 2h, 1d, 1h30m, or seconds as a number
      initialDelay: 0s
      jitter: 0s
      maxRetries: 3                 # a FAILED scheduled run retries, before the next slot
      backoff: 30s                  # first retry within 30s, then 1m, 2m, ... (full jitter)
      maxBackoff: 1h
      webhook: {secret: "${GITHUB_WEBHOOK_SECRET}"}   # deliveries to /webhooks/... are
                                    # checked with it (see :class:`Webhook`)
      rules: [{allow: [Widget]}]    # kinds admitted from this source besides catalog.rules

A source type's own options come from its config model, a :class:`SourceConfig` subclass
with ``type: Literal["..."]`` (e.g. :class:`ingestors.git.config.GitSource`).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Generic, Self, TypeVar

from croniter import croniter
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from catalog.refs import is_valid_name
from catalog.rules import KindRule
from ingestors.lookup import CatalogLookup
from ingestors.snapshot import Snapshot
from ingestors.stream import DescriptorStream

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


def parse_duration(value: object) -> timedelta:
    """``90s``, ``30m``, ``2h``, ``1d``, ``1h30m``, or a number of seconds."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return timedelta(seconds=value)
    if isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        match = _DURATION.match(text)
        if text.isdigit():
            return timedelta(seconds=int(text))
        if text and match:
            days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
            return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    raise PydanticCustomError(
        "duration",
        "'{value}' is not a duration: write a number of seconds or amounts with units, "
        "e.g. 90s, 30m, 2h, 1d, 1h30m",
        {"value": str(value)},
    )


def format_duration(value: timedelta) -> str:
    """The shortest text :func:`parse_duration` reads back: ``1h30m``, ``90s`` -> ``1m30s``."""
    seconds = int(value.total_seconds())
    if seconds == 0:
        return "0s"
    parts = []
    for unit, size in _UNITS:
        amount, seconds = divmod(seconds, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts)


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise PydanticCustomError("duration_positive", "must be longer than 0s")
    return value


class Schedule(BaseModel):
    """When a source runs on its own: ``every`` an interval, or on a ``cron`` expression (UTC)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    every: Duration | None = Field(
        default=None,
        description="Run at this interval, counted from the previous run's start.",
    )
    cron: str | None = Field(
        default=None,
        description="A 5-field cron expression (minute hour day month weekday) or @hourly, "
        "@daily, ...; evaluated in UTC.",
    )

    @field_validator("every")
    @classmethod
    def _every_at_least_a_second(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value < timedelta(seconds=1):
            raise PydanticCustomError("schedule_every", "must be at least 1s")
        return value

    @field_validator("cron")
    @classmethod
    def _cron_is_valid(cls, value: str | None) -> str | None:
        if value is None:
            return None
        text = " ".join(value.split())
        macro = text.startswith("@")
        if (not macro and len(text.split(" ")) != 5) or not croniter.is_valid(text):
            raise PydanticCustomError(
                "schedule_cron",
                "'{value}' is not a cron expression: use 5 fields (minute hour day-of-month "
                'month day-of-week, e.g. "*/15 * * * *") or @hourly, @daily, @weekly',
                {"value": value},
            )
        return text

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.every is None) == (self.cron is None):
            raise PydanticCustomError(
                "schedule_kind", "give exactly one of every (e.g. every: 30m) or cron"
            )
        return self

    def describe(self) -> str:
        """``every 30m`` or ``cron */15 * * * *``."""
        if self.every is not None:
            return f"every {format_duration(self.every)}"
        return f"cron {self.cron}"


class Webhook(BaseModel):
    """How the source's webhook deliveries are checked: GitHub and the generic git webhook
    sign the body with ``secret`` (``X-Hub-Signature-256``); GitLab sends it as
    ``X-Gitlab-Token``. Write it as ``"${VAR}"`` so it stays out of the file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    secret: SecretStr = Field(description="The shared secret the sender was configured with.")

    @field_validator("secret")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 8:
            raise PydanticCustomError(
                "webhook_secret",
                "a webhook secret must be at least 8 characters: generate one, e.g. "
                "openssl rand -hex 32, and give it to the sender and to this source",
            )
        return value


class SourceConfig(BaseModel):
    """What every source has; each type subclasses it with ``type`` and its options."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", validate_by_name=True, validate_by_alias=True
    )

    name: str = Field(description="The source's name; its entities and runs carry it.")
    type: str = Field(description="The source type, e.g. git.")
    schedule: Schedule | None = Field(
        default=None, description="When it runs on its own; without one, only on request."
    )
    timeout: Duration = Field(
        default=timedelta(minutes=10),
        description="A run still going after this long is cancelled and recorded TIMED_OUT.",
    )
    initial_delay: Duration = Field(
        default=timedelta(0),
        alias="initialDelay",
        description="Wait this long after the scheduler starts before the first run.",
    )
    jitter: Duration = Field(
        default=timedelta(0),
        description="Each scheduled run starts up to this much later, at random.",
    )
    max_retries: int = Field(
        default=3,
        ge=0,
        le=100,
        alias="maxRetries",
        description="Retries of a FAILED scheduled run, all before the next scheduled time.",
    )
    backoff: Duration = Field(
        default=timedelta(seconds=30),
        description="Retry n waits a random time up to backoff * 2^(n-1) (full jitter).",
    )
    max_backoff: Duration = Field(
        default=timedelta(hours=1),
        alias="maxBackoff",
        validate_default=True,
        description="No retry waits longer than this.",
    )
    webhook: Webhook | None = Field(
        default=None,
        description="Accept webhook deliveries for this source, checked with this secret.",
    )

    rules: tuple[KindRule, ...] = Field(
        default=(),
        description="Kinds admitted from this source, added to catalog.rules (Backstage's "
        "catalog.locations[].rules): [{allow: [Group, User]}].",
    )

    def reads_repository(self, repository: str) -> bool:
        """Whether this source reads ``repository`` (a
        :func:`ingestors.git.targets.repository_key`, or the path of a file in a local
        folder): what ``POST /api/catalog/validate-entity`` asks to add this source's rules.
        None of them unless the source type says otherwise."""
        return False

    @field_validator("name")
    @classmethod
    def _name_is_valid(cls, value: str) -> str:
        if not is_valid_name(value):
            raise PydanticCustomError(
                "source_name",
                "'{value}' is not a valid source name: use 1-63 characters of [a-zA-Z0-9] "
                "with - _ . inside",
                {"value": value},
            )
        return value

    @field_validator("timeout", "backoff", "max_backoff")
    @classmethod
    def _longer_than_zero(cls, value: timedelta) -> timedelta:
        return _positive(value)

    @field_validator("jitter")
    @classmethod
    def _jitter_below_interval(cls, value: timedelta, info: ValidationInfo) -> timedelta:
        schedule = info.data.get("schedule")
        if (
            isinstance(schedule, Schedule)
            and schedule.every is not None
            and value >= schedule.every
        ):
            raise PydanticCustomError("source_jitter", "must be shorter than the schedule's every")
        return value

    @field_validator("max_backoff")
    @classmethod
    def _cap_above_base(cls, value: timedelta, info: ValidationInfo) -> timedelta:
        backoff = info.data.get("backoff")
        if isinstance(backoff, timedelta) and value < backoff:
            raise PydanticCustomError(
                "source_backoff",
                "must be at least backoff ({backoff}); maxBackoff is 1h unless set",
                {"backoff": format_duration(backoff)},
            )
        return value


Fetch = Callable[[], Awaitable[Snapshot | DescriptorStream]]
"""A source's ``get`` + ``transform``, as :func:`ingestors.runner.run_ingestion` calls it: the
snapshot read, or a stream of it still being read (:mod:`ingestors.stream`)."""

Scope = tuple[str, ...]
"""Parts of a source by source path (:data:`graph.port.Scope`); empty: the whole source."""

ConfigT = TypeVar("ConfigT", bound=SourceConfig)


@dataclass(frozen=True)
class SourceType(Generic[ConfigT]):
    """A kind of source: how its config entry reads (``model``), and how to fetch one.

    ``fetcher(source, lookup)`` returns the fetch coroutine; it is given a ``model``
    instance, already checked. ``lookup`` reads the catalog (e.g. the Component whose
    annotation names a repository), never writes it.
    """

    name: str
    model: type[ConfigT]
    fetcher: Callable[[ConfigT, CatalogLookup], Fetch]
    scoped_fetcher: Callable[[ConfigT, CatalogLookup, Scope], Fetch] | None = None
    """The fetch of some parts of a source only (one repository of an organisation, one
    folder of a repository); None when the type reads only whole sources."""
    event_fetcher: Callable[[ConfigT, CatalogLookup, Sequence[str]], Fetch] | None = None
    """The fetch that makes entities straight from webhook payloads (JSON texts; a workflow
    run, a deployment) with no call to the source; None when the type has none."""

    def fetch(self, source: SourceConfig, lookup: CatalogLookup) -> Fetch:
        """The fetch of ``source``, which must be an entry of this type."""
        if not isinstance(source, self.model):
            raise TypeError(
                f"source {source.name!r} is a {type(source).__name__}, not the "
                f"{self.model.__name__} a {self.name} source is configured with"
            )
        return self.fetcher(source, lookup)

    def fetch_scope(self, source: SourceConfig, lookup: CatalogLookup, scope: Scope) -> Fetch:
        """The fetch of ``scope`` of ``source``; the whole source when the scope is empty or
        the type cannot read parts."""
        if not scope or self.scoped_fetcher is None:
            return self.fetch(source, lookup)
        if not isinstance(source, self.model):
            return self.fetch(source, lookup)  # raises the TypeError
        return self.scoped_fetcher(source, lookup, scope)

    def fetch_events(
        self, source: SourceConfig, lookup: CatalogLookup, scope: Scope, events: Sequence[str]
    ) -> Fetch:
        """The fetch applying the webhook payloads ``events`` directly; without an
        ``event_fetcher``, the read of ``scope`` (what the deliveries concern)."""
        if self.event_fetcher is None or not isinstance(source, self.model):
            return self.fetch_scope(source, lookup, scope)
        return self.event_fetcher(source, lookup, events)
