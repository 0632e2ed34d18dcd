"""What a watch hands out: typed events, and the gaps during which it could not see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["EventType", "Gap", "GapReason", "WatchEvent", "object_key"]

EventType = Literal["ADDED", "MODIFIED", "DELETED", "SYNC"]
"""ADDED/MODIFIED/DELETED as the API server says (or as a relist diff derives); SYNC ends each list."""

GapReason = Literal["expired", "inactive", "disconnected", "stalled"]
"""expired: history was gone (410), the watch relisted; inactive: the stream went silent past the
deadline; disconnected: no answer, or the hub failed (5xx, 429) while reconnecting; stalled: the stream
stayed open but delivered late (seen by the engine's monitors through their own writes)."""


def object_key(obj: dict[str, Any]) -> tuple[str, str]:
    """(namespace or "", name) of an object."""
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """One change seen by a watch (or derived from a list), with when it was received."""

    type: EventType
    object: dict[str, Any]
    """The object after the change (for DELETED: its last state). Treat it as read-only."""
    resource_version: str
    """The object's resourceVersion (for SYNC and relist deletions: the list's)."""
    received_monotonic: float
    """Event-loop clock (seconds) when it arrived; compare with other monotonic times only."""
    received_wall: float
    """Wall-clock time (seconds since the epoch) when it arrived."""
    from_list: bool = False
    """True when made from a (re)list rather than read from a stream; a SYNC closes each such batch."""

    @property
    def name(self) -> str:
        return object_key(self.object)[1]

    @property
    def namespace(self) -> str | None:
        return object_key(self.object)[0] or None


@dataclass(frozen=True, slots=True)
class Gap:
    """A time during which a watch was not receiving changes as they happened."""

    reason: GapReason
    started_monotonic: float
    """When the watch last knew it was current (event-loop clock, seconds)."""
    ended_monotonic: float
    """When it was current again: a stream re-opened from its resourceVersion, or a relist applied."""
    started_wall: float
    ended_wall: float

    @property
    def duration(self) -> float:
        """Seconds the watch could not see."""
        return self.ended_monotonic - self.started_monotonic
