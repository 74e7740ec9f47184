"""Secrets out of the server log: while a task runs, its redactor is registered with the
filter every root handler carries, and a log line naming its secret is written masked."""

from __future__ import annotations

import io
import logging

from scaffolder.secrets import SERVER_LOG_FILTER, Redactor
from scaffolder.service import redact_server_log


def test_the_server_log_never_shows_a_running_task_secret() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        redact_server_log()
        SERVER_LOG_FILTER.redactors["t1"] = Redactor(["hunter2-secret"])
        logging.getLogger("stagegraph.test").warning(
            "push to https://x:%s@host failed", "hunter2-secret"
        )
        del SERVER_LOG_FILTER.redactors["t1"]
        logging.getLogger("stagegraph.test").warning("after: %s", "hunter2-secret")
    finally:
        root.removeHandler(handler)

    lines = stream.getvalue().splitlines()
    assert lines == ["push to https://x:***@host failed", "after: hunter2-secret"]
