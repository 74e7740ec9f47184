"""Sources as configured under ``sources:`` in ``stagegraph.yaml``, and the registry of
source types that turns one into the ``fetch`` coroutine the runner needs.

A source entry reads::

    - name: acme-catalog            # a valid name: 1-63 of [a-zA-Z0-9] with -_. inside
      type: git                     # a key of the registry (git now; aws, github, ... later)
      url: https://github.com/acme/catalog.git    # git options: url, ref, paths
      ref: main
      paths: [catalog/]
      schedule: {every: 30m}        # or {cron: "*/15 * * * *"} (UTC); none: on request only
      timeout: 10m                  # durations: 90s, 30m, 2h, 1d, 1h30m, or seconds as a number
      initialDelay: 0s
      jitter: 0s
      maxRetries: 3                 # a FAILED scheduled run retries, before the next slot
      backoff: 30s                  # first retry within 30s, then 1m, 2m, ... (full jitter)
      maxBackoff: 1h

:func:`parse_sources` validates a whole list and raises one :class:`pydantic.ValidationError`
listing every problem, each with its location relative to the list (``(0, "schedule",
"every")``); used as the :data:`Sources` field type inside a settings model, the locations
start with the field name (``("sources", 0, "schedule", "every")``).

A new source type plugs in as a :class:`SourceType`: a model (a :class:`SourceConfig`
subclass with ``type: Literal["..."]`` and its options) and a fetcher factory.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, Literal, Self

from croniter import croniter
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from catalog.refs import is_valid_name
from ingestors.git import read_git_source
from ingestors.lookup import CatalogLookup
from ingestors.snapshot import Snapshot

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


class GitSource(SourceConfig):
    """A git repository (URL or local path) or a plain folder of descriptors."""

    type: Literal["git"] = "git"
    url: str = Field(min_length=1, description="Repository URL or local path.")
    ref: str | None = Field(default=None, description="Branch, tag or commit; default HEAD.")
    paths: tuple[str, ...] = Field(
        default=(), description="Entry files or folders; default every catalog-info.yaml."
    )


Fetch = Callable[[], Awaitable[Snapshot]]
"""A source's ``get`` + ``transform``, as :func:`ingestors.runner.run_ingestion` calls it."""


def git_fetcher(source: SourceConfig, lookup: CatalogLookup | None = None) -> Fetch:
    if not isinstance(source, GitSource):
        raise TypeError(f"git_fetcher got a {type(source).__name__}")

    async def fetch() -> Snapshot:
        return await asyncio.to_thread(read_git_source, source.url, source.ref, source.paths)

    return fetch


@dataclass(frozen=True)
class SourceType:
    """A kind of source: how its config entry reads, and how to fetch one.

    ``fetcher(source, lookup)`` returns the fetch coroutine; ``lookup`` reads the catalog
    (e.g. the Component whose annotation names a repository), never writes it.
    """

    name: str
    model: type[SourceConfig]
    fetcher: Callable[[SourceConfig, CatalogLookup], Fetch]


class SourceTypes:
    """The registry of source types, by ``type`` name. Immutable: :meth:`with_type` copies."""

    def __init__(self, types: Iterable[SourceType] = ()) -> None:
        self._types = {t.name: t for t in types}

    def with_type(self, source_type: SourceType) -> SourceTypes:
        """A registry with ``source_type`` added (or replacing the one of its name)."""
        return SourceTypes([*self._types.values(), source_type])

    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._types))

    def __getitem__(self, name: str) -> SourceType:
        return self._types[name]

    def fetcher(self, source: SourceConfig, lookup: CatalogLookup | None = None) -> Fetch:
        return self._types[source.type].fetcher(source, lookup or CatalogLookup(None))

    def parse(self, raw: object) -> tuple[SourceConfig, ...]:
        """Validate a ``sources:`` list; raise one ValidationError listing every problem."""
        if raw is None:
            return ()
        if not isinstance(raw, list | tuple):
            raise ValidationError.from_exception_data(
                "sources",
                [_problem((), raw, "sources must be a list of sources (name, type, ...)")],
            )
        parsed: list[SourceConfig] = []
        problems: list[InitErrorDetails] = []
        seen: dict[str, int] = {}
        for index, item in enumerate(raw):
            name = item.get("name") if isinstance(item, dict) else None
            if isinstance(name, str) and name in seen:
                problems.append(
                    _problem(
                        (index, "name"),
                        name,
                        f"source name '{name}' is already used by source #{seen[name] + 1}; "
                        "names must be unique",
                    )
                )
            elif isinstance(name, str):
                seen[name] = index
            source = self._parse_one(index, item, problems)
            if source is not None:
                parsed.append(source)
        if problems:
            raise ValidationError.from_exception_data("sources", problems)
        return tuple(parsed)

    def _parse_one(
        self, index: int, item: object, problems: list[InitErrorDetails]
    ) -> SourceConfig | None:
        if isinstance(item, SourceConfig):
            return item
        if not isinstance(item, dict):
            problems.append(
                _problem((index,), item, "a source must be a mapping with name, type and options")
            )
            return None
        type_name = item.get("type")
        if type_name is None:
            problems.append(InitErrorDetails(type="missing", loc=(index, "type"), input=item))
            return None
        if not isinstance(type_name, str) or type_name not in self._types:
            known = ", ".join(self.names())
            problems.append(
                _problem(
                    (index, "type"),
                    type_name,
                    f"unknown source type '{type_name}'; known types: {known}",
                )
            )
            # The fields every source has can still be checked.
            common = {k: v for k, v in item.items() if k in _COMMON_KEYS and k != "type"}
            self._collect(index, SourceConfig, {**common, "type": "?"}, problems)
            return None
        return self._collect(index, self._types[type_name].model, item, problems)

    @staticmethod
    def _collect(
        index: int, model: type[SourceConfig], item: object, problems: list[InitErrorDetails]
    ) -> SourceConfig | None:
        try:
            return model.model_validate(item)
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                problems.append(
                    _problem((index, *error["loc"]), error["input"], error["msg"], error["type"])
                )
            return None


def _problem(
    loc: tuple[int | str, ...], value: Any, message: str, kind: str = "source_config"
) -> InitErrorDetails:
    # The message goes in as context so braces in user values are never read as a template.
    error = PydanticCustomError(kind, "{message}", {"message": message})
    return InitErrorDetails(type=error, loc=loc, input=value)


_COMMON_KEYS = frozenset(
    {*SourceConfig.model_fields, *(f.alias for f in SourceConfig.model_fields.values() if f.alias)}
)

GIT = SourceType("git", GitSource, git_fetcher)


def __getattr__(name: str) -> Any:
    # SOURCE_TYPES lives in ingestors.registry (it imports every source package, and they
    # import this module); reachable here too for callers that import it from sources.
    if name == "SOURCE_TYPES":
        from ingestors.registry import SOURCE_TYPES

        return SOURCE_TYPES
    raise AttributeError(name)


def parse_sources(raw: object) -> tuple[SourceConfig, ...]:
    """Validate a ``sources:`` list against every known source type
    (:data:`ingestors.registry.SOURCE_TYPES`; see :meth:`SourceTypes.parse`)."""
    from ingestors.registry import SOURCE_TYPES

    return SOURCE_TYPES.parse(raw)


Sources = Annotated[tuple[SourceConfig, ...], BeforeValidator(parse_sources)]
"""The field type of ``sources`` in a settings model."""
