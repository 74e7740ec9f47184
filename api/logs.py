"""Logging for the ``stagegraph`` processes: readable lines on a terminal, one JSON object per
line otherwise (for log collectors), with the run id on every ingestion line."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

import orjson

#: ``extra=`` keys that are copied into JSON lines when a record has them
_EXTRA_KEYS = ("run_id", "source", "trigger", "status", "operation")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in _EXTRA_KEYS:
            value = getattr(record, key, None)
            if value is not None:
                line[key] = value
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = f"{record.levelname} {record.name}: {record.getMessage()}"
        run_id = getattr(record, "run_id", None)
        if run_id:
            text = f"{text} [run {run_id}]"
        if record.exc_info:
            text = f"{text}\n{self.formatException(record.exc_info)}"
        return text


def configure_logging(level: str, json_lines: bool | None = None) -> None:
    """Log to stderr: JSON lines when stderr is not a terminal (or ``json_lines``)."""
    use_json = (not sys.stderr.isatty()) if json_lines is None else json_lines
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if use_json else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
