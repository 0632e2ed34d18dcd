"""Watch stalls shorter than the inactivity limit: seen through our own writes.

A stream that stays open but delivers late raises no error and trips no inactivity deadline until
``watch_inactivity`` (70 s); meanwhile everything it delivers is late, and a latency measured from it
(a cluster "reconnecting", a reaction) measures the stall. The one thing we know the hub has done and
when is each write of ours: a write to a watched kind that its watch has not shown ``after`` seconds
after the hub answered opens a stall episode on that hub. The episode ends when every write it waited
for has been seen; it is recorded as a gap (reason "stalled") from the first unseen write's answer, and
every value a monitor of that hub measured during it, or in the burst just after (``grace``), is marked
distorted.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..kube import Write

__all__ = ["StallDetector", "StallEpisode"]

_Key = tuple[str, str, str, str]


@dataclass
class StallEpisode:
    hub: str
    started: float
    """Event-loop time the first write it waited for was answered."""
    started_wall: float
    waiting: set[_Key] = field(default_factory=set)
    watched: set[str] = field(default_factory=set)
    """The resource keys of the writes it waited for (the watches seen stalled)."""
    ended: float | None = None
    ended_wall: float | None = None


class StallDetector:
    def __init__(self, *, after: float, on_end: Callable[[StallEpisode], None], grace: float = 0.5) -> None:
        self.after = after
        self.grace = grace
        self._on_end = on_end
        self._timers: dict[_Key, asyncio.TimerHandle] = {}
        self._open: dict[str, StallEpisode] = {}
        self.episodes: list[StallEpisode] = []

    def wrote(self, write: Write, *, already_seen: bool) -> None:
        if already_seen:
            return
        key = (write.hub, write.resource.key, write.name, write.resource_version)
        loop = asyncio.get_running_loop()
        delay = max(0.0, write.answered + self.after - loop.time())
        self._timers[key] = loop.call_later(delay, self._stalled, key, write)

    def _stalled(self, key: _Key, write: Write) -> None:
        self._timers.pop(key, None)
        episode = self._open.get(write.hub)
        if episode is None:
            loop_now = asyncio.get_running_loop().time()
            episode = self._open[write.hub] = StallEpisode(write.hub, write.answered,
                                                           time.time() - (loop_now - write.answered))
            self.episodes.append(episode)
        episode.waiting.add(key)
        episode.watched.add(write.resource.key)

    def noticed(self, hub: str, resource_key: str, name: str, resource_version: str, received: float,
                received_wall: float) -> None:
        key = (hub, resource_key, name, resource_version)
        handle = self._timers.pop(key, None)
        if handle is not None:
            handle.cancel()
        episode = self._open.get(hub)
        if episode is not None and key in episode.waiting:
            episode.waiting.discard(key)
            if not episode.waiting:
                self._end(episode, received, received_wall)

    def _end(self, episode: StallEpisode, at: float, at_wall: float) -> None:
        episode.ended, episode.ended_wall = at, at_wall
        del self._open[episode.hub]
        self._on_end(episode)

    def distorted(self, hub: str, received: float) -> bool:
        """Whether a value measured from what a watch of ``hub`` delivered at ``received`` may measure a stall."""
        return any(e.hub == hub and e.started <= received and (e.ended is None or received <= e.ended + self.grace)
                   for e in self.episodes)

    def close(self) -> None:
        """Disarm; an episode still open ends now (the cycle ends with that hub's watches stalled)."""
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        loop_now = asyncio.get_running_loop().time()
        for episode in list(self._open.values()):
            self._end(episode, loop_now, time.time())
