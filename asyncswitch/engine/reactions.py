"""Reaction latency: how soon the engine's watches show a change the engine itself made.

Every create or patch the hub confirms carries the resourceVersion it made; the watch event of the
same object at the same resourceVersion is the moment a monitor saw that change. The hub changed
the object somewhere between sending the write and that event, so ``seconds`` (write sent → event
received) bounds "hub change → our notice" from above by the write's own trip to the hub, and
``after_answer`` (write answered → event received; negative when the event came first) from below.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from ..kube import Write

__all__ = ["Reaction", "ReactionMatcher"]

_Key = tuple[str, str, str, str]
"""(hub, resource key, object name, resourceVersion)."""


@dataclass(frozen=True, slots=True)
class Reaction:
    write: Write
    received: float
    """Event-loop time the watch event arrived."""

    @property
    def seconds(self) -> float:
        return self.received - self.write.sent

    @property
    def after_answer(self) -> float:
        return self.received - self.write.answered


class ReactionMatcher:
    """Pairs writes with the watch events that show them, whichever arrives first.

    At most ``backlog`` unmatched writes and events are kept, oldest dropped: a patch that changes
    nothing makes no event, and most events are not ours (controllers write too).
    """

    def __init__(self, *, backlog: int = 4096) -> None:
        self.backlog = backlog
        self._writes: OrderedDict[_Key, Write] = OrderedDict()
        self._events: OrderedDict[_Key, float] = OrderedDict()

    def wrote(self, write: Write) -> Reaction | None:
        key = (write.hub, write.resource.key, write.name, write.resource_version)
        received = self._events.pop(key, None)
        if received is None:
            self._keep(self._writes, key, write)
            return None
        if received < write.sent:  # an older event at this version: the write changed nothing
            return None
        return Reaction(write, received)

    def noticed(self, hub: str, resource_key: str, name: str, resource_version: str,
                received: float) -> Reaction | None:
        key = (hub, resource_key, name, resource_version)
        write = self._writes.pop(key, None)
        if write is None:
            self._keep(self._events, key, received)
            return None
        return Reaction(write, received)

    def _keep(self, backlog: OrderedDict[_Key, Any], key: _Key, value: Any) -> None:
        backlog[key] = value
        if len(backlog) > self.backlog:
            backlog.popitem(last=False)
