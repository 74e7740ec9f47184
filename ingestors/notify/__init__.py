"""Outgoing webhooks (issue 13, ``notify:``): each recorded entity change and each finished
ingestion run POSTed, signed, to the receivers that asked for it.

- :mod:`ingestors.notify.config`: the ``notify:`` entries (:class:`NotifyTarget`);
- :mod:`ingestors.notify.events`: the bodies and headers, pure;
- :mod:`ingestors.notify.sender`: reading the store's feed from each receiver's saved
  position, retries, drops (:class:`Notifier`).

:func:`delivering` runs the sender in a process for as long as it holds the store lease
``notify`` (so one process of a deployment delivers); ``stagegraph serve`` (with its
scheduler on) and ``stagegraph worker`` both use it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Protocol

from graph.port import Leases
from ingestors.clock import SystemClock
from ingestors.leadership import Leadership
from ingestors.notify.config import NotifyTarget
from ingestors.notify.sender import NOTIFY_LEASE, DeliveryObserver, Notifier, NotifyStore
from ingestors.scheduler import LEASE_TTL_SECONDS

__all__ = ["NOTIFY_LEASE", "DeliveryObserver", "Notifier", "NotifyTarget", "delivering"]


class LeasedNotifyStore(NotifyStore, Leases, Protocol):
    """The sender's store, with the lease that picks the one process that delivers."""


@asynccontextmanager
async def delivering(
    store: LeasedNotifyStore,
    targets: Sequence[NotifyTarget],
    owner: str,
    observer: DeliveryObserver | None = None,
    *,
    ttl: float = LEASE_TTL_SECONDS,
) -> AsyncIterator[Notifier]:
    """Deliver to ``targets`` while this process (``owner``) holds the ``notify`` lease,
    until the block ends (nothing runs when there are no targets)."""
    notifier = Notifier(store, targets, observer=observer)
    task: asyncio.Task[None] | None = None
    if targets:
        leadership = Leadership(store, owner, SystemClock(), ttl=ttl, lease=NOTIFY_LEASE)
        task = asyncio.create_task(leadership.run(notifier), name="notify leadership")
    try:
        yield notifier
    finally:
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
