"""Fan-out of engine events to subscribers, each with its own asyncio queue."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

from .events import EngineEvent

__all__ = ["EventBus"]


class EventBus:
    """Publish once, every subscriber gets it; ``None`` marks the end of the run."""

    def __init__(self) -> None:
        self._queues: list[asyncio.Queue[EngineEvent | None]] = []
        self._closed = False

    def subscribe(self) -> asyncio.Queue[EngineEvent | None]:
        queue: asyncio.Queue[EngineEvent | None] = asyncio.Queue()
        if self._closed:
            queue.put_nowait(None)  # the run is over: a late subscriber ends at once instead of waiting forever
        self._queues.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[EngineEvent | None]) -> None:
        if queue in self._queues:
            self._queues.remove(queue)

    def publish(self, event: EngineEvent) -> None:
        for queue in self._queues:
            queue.put_nowait(event)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for queue in self._queues:
            queue.put_nowait(None)

    def stream(self) -> AsyncGenerator[EngineEvent, None]:
        """Every event published from this call on (subscribed now, not at the first iteration)."""
        return self._drain(self.subscribe())

    async def _drain(self, queue: asyncio.Queue[EngineEvent | None]) -> AsyncGenerator[EngineEvent, None]:
        try:
            while (event := await queue.get()) is not None:
                yield event
        finally:
            self.unsubscribe(queue)
