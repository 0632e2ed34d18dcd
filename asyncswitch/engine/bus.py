"""Fan-out of engine events to subscribers, each with its own asyncio queue."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Collection

from .events import EngineEvent

__all__ = ["EventBus"]


class EventBus:
    """Publish once, every subscriber gets it; ``None`` marks the end of the run.

    A subscriber may name the record types it wants: a 3,500-cluster cycle publishes tens of thousands
    of watch events, and a consumer that ignores them should not be woken for each."""

    def __init__(self) -> None:
        self._queues: dict[asyncio.Queue[EngineEvent | None], frozenset[str] | None] = {}
        self._closed = False

    def subscribe(self, types: Collection[str] | None = None) -> asyncio.Queue[EngineEvent | None]:
        """A queue of every event from now on (only those of ``types``, if given), then ``None``."""
        queue: asyncio.Queue[EngineEvent | None] = asyncio.Queue()
        if self._closed:
            queue.put_nowait(None)  # the run is over: a late subscriber ends at once instead of waiting forever
        self._queues[queue] = frozenset(types) if types is not None else None
        return queue

    def unsubscribe(self, queue: asyncio.Queue[EngineEvent | None]) -> None:
        self._queues.pop(queue, None)

    def publish(self, event: EngineEvent) -> None:
        for queue, types in self._queues.items():
            if types is None or event.type in types:
                queue.put_nowait(event)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for queue in self._queues:
            queue.put_nowait(None)

    def stream(self, types: Collection[str] | None = None) -> AsyncGenerator[EngineEvent, None]:
        """Every event published from this call on, of ``types`` if given (subscribed now, not at the
        first iteration)."""
        return self._drain(self.subscribe(types))

    async def _drain(self, queue: asyncio.Queue[EngineEvent | None]) -> AsyncGenerator[EngineEvent, None]:
        try:
            while (event := await queue.get()) is not None:
                yield event
        finally:
            self.unsubscribe(queue)
