"""The ``notify:`` setting: where the outgoing webhooks post, which events, and how hard
they try (see :mod:`ingestors.notify.sender`)::

    notify:
      - url: https://hooks.example.com/stagegraph
        events: [entity.changed, run.finished]      # default: both
        secret: "${STAGEGRAPH_NOTIFY_SECRET}"       # signs every body (HMAC-SHA256)
        attempts: 5                                 # tries before an event is dropped
        backoff: 1                                  # seconds before the first retry; doubles
        timeout: 10                                 # seconds for one POST
"""

from __future__ import annotations

from typing import Any, Final, Literal, get_args
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_core import PydanticCustomError

NotifyEvent = Literal["entity.changed", "run.finished"]
"""``entity.changed``: an entity was created, updated or deleted (one change record);
``run.finished``: an ingestion run ended (its run record)."""
EVENTS: Final[tuple[str, ...]] = get_args(NotifyEvent)


class NotifyTarget(BaseModel):
    """One receiver of the outgoing webhooks."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = Field(description="Where events are POSTed: an http:// or https:// URL.")
    events: tuple[NotifyEvent, ...] = Field(
        default=("entity.changed", "run.finished"),
        min_length=1,
        description="The events this receiver gets: entity.changed, run.finished.",
    )
    secret: SecretStr = Field(
        description="Signs each body: X-Stagegraph-Signature-256: sha256=<HMAC-SHA256 hex>. "
        'Write it as "${VAR}" so it stays out of the file.'
    )
    attempts: int = Field(
        default=5, ge=1, le=20, description="Tries per event before it is dropped (and counted)."
    )
    backoff: float = Field(
        default=1.0,
        gt=0,
        le=300,
        description="Seconds to wait before the first retry; each next wait doubles (up to "
        "5 minutes).",
    )
    timeout: float = Field(default=10.0, gt=0, le=300, description="Seconds one POST may take.")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PydanticCustomError(
                "notify_url",
                "'{url}' is not a URL a webhook can be posted to: write an absolute http:// "
                "or https:// URL with a host, e.g. https://hooks.example.com/stagegraph",
                {"url": value},
            )
        return value.strip()

    @field_validator("events", mode="before")
    @classmethod
    def _known_events(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list | tuple):
            unknown = [e for e in value if e not in EVENTS]
            if unknown:
                raise PydanticCustomError(
                    "notify_event",
                    "unknown event {unknown}: the events are {known}",
                    {
                        "unknown": ", ".join(repr(e) for e in unknown),
                        "known": ", ".join(EVENTS),
                    },
                )
            if len(set(value)) != len(value):
                raise PydanticCustomError(
                    "notify_event", "an event is listed twice: name each event once"
                )
        return value

    @field_validator("secret")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 8:
            raise PydanticCustomError(
                "notify_secret",
                "a notify secret must be at least 8 characters: generate one, e.g. "
                "openssl rand -hex 32, and give it to the receiver too",
            )
        return value

    @property
    def host(self) -> str:
        """The receiver's host (and port), as the metrics label it."""
        return urlsplit(self.url).netloc

    @property
    def cursor(self) -> str:
        """The store's feed cursor of this receiver (where its deliveries resume)."""
        return f"notify:{self.url}"
