"""A read handed to the runner while it goes on: descriptors in batches, then the snapshot.

A source that reads in a thread (the git source: a walk of the tree, parse workers) puts
each batch of descriptors it has taken into a :class:`DescriptorStream` as it goes; the
runner writes one batch while the reader parses the next. The stream holds at most
``in_flight`` batches that the runner has not taken yet: the reader waits for room, so a
read of a million entities holds a few batches at a time, not the whole catalog. When the
read ends, the stream carries the :class:`~ingestors.snapshot.Snapshot` of the rest (its
errors, rejected entities, files, and the descriptors not sent yet: those that need the
whole read first, such as CI pipelines); a read that fails ends the stream with its error
instead, which the runner raises after the batches sent before it.

A plain snapshot is a stream too (:meth:`DescriptorStream.of`): no batch, then itself.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

from ingestors.snapshot import Descriptor, Snapshot

#: batches put in the stream and not yet taken by the runner, at most
IN_FLIGHT = 2
#: how often (seconds) a reader waiting for room checks whether the runner stopped
_POLL = 0.1


class StreamClosed(Exception):
    """The runner stopped taking batches (it failed or was cancelled): the read stops."""


@dataclass(frozen=True)
class _End:
    snapshot: Snapshot | None
    error: BaseException | None


class Emit:
    """The reader's side of a stream (called from the reading thread)."""

    def __init__(self, stream: DescriptorStream) -> None:
        self._stream = stream

    def expect(self, count: int) -> None:
        """About how many entities the read will send (its descriptor files, say): the
        runner tells the store before the first write (a bulk load). Call it once, first."""
        self._stream._send(count)

    def put(self, batch: Sequence[Descriptor]) -> None:
        """Send a batch; waits while ``in_flight`` batches are not taken yet. Raises
        :class:`StreamClosed` when the runner is gone."""
        self._stream._put(list(batch))


class DescriptorStream:
    """Batches of descriptors read by a thread, taken by the runner in order."""

    def __init__(self, in_flight: int = IN_FLIGHT) -> None:
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[int | list[Descriptor] | _End] = asyncio.Queue()
        self._room = threading.Semaphore(in_flight)
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._expected: int | None = None
        self._head: list[Descriptor] | _End | None = None
        self._reading: asyncio.Future[None] | None = None
        self.snapshot: Snapshot | None = None
        #: batches put and not yet taken now, and the most there ever were (an observable)
        self.in_flight = 0
        self.most_in_flight = 0
        #: batches taken by the runner
        self.batches_taken = 0

    @classmethod
    def read(
        cls, reader: Callable[[Emit], Snapshot], in_flight: int = IN_FLIGHT
    ) -> DescriptorStream:
        """Start ``reader`` in a thread; it sends batches through the :class:`Emit` it is
        given and returns the snapshot of the rest (or raises: the stream's error)."""
        stream = cls(in_flight)
        stream._reading = asyncio.ensure_future(asyncio.to_thread(stream._produce, reader))
        return stream

    @classmethod
    def of(cls, snapshot: Snapshot) -> DescriptorStream:
        """A snapshot read whole: no batch, then itself."""
        stream = cls()
        stream._expected = len(snapshot.descriptors)
        stream._queue.put_nowait(_End(snapshot, None))
        return stream

    def _produce(self, reader: Callable[[Emit], Snapshot]) -> None:
        try:
            end = _End(reader(Emit(self)), None)
        except StreamClosed:
            return
        except BaseException as exc:  # handed to the runner, which raises it
            end = _End(None, exc)
        self._send(end)

    def _send(self, item: int | list[Descriptor] | _End) -> None:
        self._loop.call_soon_threadsafe(self._queue.put_nowait, item)

    def _put(self, batch: list[Descriptor]) -> None:
        while not self._room.acquire(timeout=_POLL):
            if self._closed.is_set():
                raise StreamClosed
        if self._closed.is_set():
            raise StreamClosed
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        self._send(batch)

    async def expected(self) -> int:
        """How many entities the read expects to send (0 when it did not say)."""
        if self._expected is None:
            item = await self._queue.get()
            if isinstance(item, int):
                self._expected = item
            else:
                self._expected, self._head = 0, item
        return self._expected

    async def batches(self, size: int) -> AsyncIterator[list[Descriptor]]:
        """The batches as they come, then the final snapshot's descriptors in batches of
        ``size`` (:attr:`snapshot` is set once they start); raises the read's error."""
        await self.expected()
        while True:
            item = self._head if self._head is not None else await self._queue.get()
            self._head = None
            if isinstance(item, int):
                continue
            if isinstance(item, _End):
                if item.error is not None:
                    raise item.error
                assert item.snapshot is not None
                self.snapshot = item.snapshot
                break
            with self._lock:
                self.in_flight -= 1
            self._room.release()
            self.batches_taken += 1
            yield item
        rest = self.snapshot.descriptors
        for start in range(0, len(rest), size):
            yield rest[start : start + size]

    def close(self) -> None:
        """The runner takes no more batches: a reader waiting for room stops
        (:class:`StreamClosed`)."""
        self._closed.set()

    async def wait_closed(self) -> None:
        """Close, and wait for the reading thread to stop."""
        self.close()
        if self._reading is not None:
            await asyncio.shield(self._reading)
