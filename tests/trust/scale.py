"""How big the trust suite's runs are: short in `make test`, long under `make fuzz`."""

from __future__ import annotations

import os

LONG = os.environ.get("STAGEGRAPH_FUZZ") == "long"


def scaled(short: int, long: int) -> int:
    """``short`` in `make test`, ``long`` when ``STAGEGRAPH_FUZZ=long`` (`make fuzz`)."""
    return long if LONG else short
