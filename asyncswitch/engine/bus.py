"""Fan-out of engine events to subscribers, each with its own asyncio queue."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from .events import EngineEvent

__all__ = ["EventBus"]


class EventBus:
    """Publish once, every subscriber gets it; ``None`` marks the end of the run."""

    def __init__(self) -> None:
        self._queues: list[asyncio.Queue[EngineEvent | None]] = []

    def subscribe(self) -> asyncio.Queue[EngineEvent | None]:
        queue: asyncio.Queue[EngineEvent | None] = asyncio.Queue()
        self._queues.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[EngineEvent | None]) -> None:
        if queue in self._queues:
            self._queues.remove(queue)

    def publish(self, event: EngineEvent) -> None:
        for queue in self._queues:
            queue.put_nowait(event)

    def close(self) -> None:
        for queue in self._queues:
            queue.put_nowait(None)

    async def stream(self) -> AsyncIterator[EngineEvent]:
        queue = self.subscribe()
        try:
            while (event := await queue.get()) is not None:
                yield event
        finally:
            self.unsubscribe(queue)
