"""Keeping secret values out of everything a task leaves behind.

A :class:`Redactor` knows a task's secret values and replaces each by ``***`` in any text,
or in every string inside a value; the runner passes log lines, step outputs, errors and the
task's output through it. :class:`RedactingFilter` does the same for the server log.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "***"
#: Values shorter than this are not redacted (masking "a" would mangle every text).
MIN_SECRET_LENGTH = 4


class Redactor:
    """Replaces known secret values by ``***``."""

    def __init__(self, secrets: Iterable[Any] = ()) -> None:
        self._values: set[str] = set()
        self.add(secrets)

    def add(self, secrets: Iterable[Any]) -> None:
        for value in secrets:
            if isinstance(value, Mapping):
                self.add(value.values())
            elif value is not None and len(str(value)) >= MIN_SECRET_LENGTH:
                self._values.add(str(value))

    def text(self, text: str) -> str:
        for secret in sorted(self._values, key=len, reverse=True):
            text = text.replace(secret, MASK)
        return text

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {key: self.value(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(item) for item in value]
        return value


class RedactingFilter(logging.Filter):
    """A log filter that redacts the secrets of every running task from log records."""

    def __init__(self) -> None:
        super().__init__()
        self.redactors: dict[str, Redactor] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if self.redactors:
            message = record.getMessage()
            for redactor in list(self.redactors.values()):
                message = redactor.text(message)
            record.msg, record.args = message, None
        return True


#: The one filter the scaffolder registers its running tasks' secrets with.
SERVER_LOG_FILTER = RedactingFilter()
