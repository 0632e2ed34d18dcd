"""Per-cycle tallies of the per-event records: what metrics.jsonl keeps of them by default.

A 3,500-cluster cycle publishes tens of thousands of ``watch_event`` and ``reaction`` records and a
``cluster_reconnected`` record per cluster, one line each: megabytes per cycle. Unless the run asks
for them (``--record-events``), the writer keeps instead one ``cycle_events`` record per cycle, written
just before its ``cycle_end``:

    {"type": "cycle_events", "cycle_id": ..., "watch_events": {"hub-b": {"ManagedCluster": {"MODIFIED": 3512}}},
     "watch_event_count": 3512, "reactions": {"count": 7004, "median_s": 0.0061, "p90_s": ..., "p99_s": ...,
     "max_s": ...}, "reconnect_seconds": [31.2, 33.0, ...]}

The reactions' median is exact (what ``compare`` ranks cycles by), and the reconnect times are all
there, sorted (analyze's reconnect curves); the run-wide distributions are in histograms/ either way.
"""

from __future__ import annotations

from array import array
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..engine.events import EngineEvent

__all__ = ["PER_EVENT_TYPES", "CycleTally", "reaction_stats"]

PER_EVENT_TYPES = frozenset({"watch_event", "reaction", "cluster_reconnected"})
"""Record types written one line per event only with --record-events."""

CYCLE_EVENTS = "cycle_events"


@dataclass
class _Cycle:
    watch_events: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    reactions: array[float] = field(default_factory=lambda: array("d"))
    reconnects: array[float] = field(default_factory=lambda: array("d"))


class CycleTally:
    """Counts watch events and keeps reaction times per cycle, until the cycle's record is taken."""

    def __init__(self) -> None:
        self._cycles: dict[str, _Cycle] = {}

    def add(self, event: EngineEvent) -> None:
        cycle = self._cycles.get(event.cycle_id or "")
        if cycle is None:
            cycle = self._cycles[event.cycle_id or ""] = _Cycle()
        data = event.data
        if event.type == "watch_event":
            cycle.watch_events[(str(data.get("hub")), str(data.get("kind")), str(data.get("event")))] += 1
        elif event.type == "reaction":
            cycle.reactions.append(float(data["seconds"]))
        elif event.type == "cluster_reconnected":
            cycle.reconnects.append(float(data["seconds"]))

    def take(self, cycle_id: str | None, run_id: str) -> EngineEvent | None:
        """The ``cycle_events`` record of a cycle (None if it saw no per-event record), forgotten here."""
        cycle = self._cycles.pop(cycle_id or "", None)
        if cycle is None:
            return None
        nested: dict[str, dict[str, dict[str, int]]] = {}
        for (hub, kind, change), count in sorted(cycle.watch_events.items()):
            nested.setdefault(hub, {}).setdefault(kind, {})[change] = count
        return EngineEvent(CYCLE_EVENTS, run_id, cycle_id, {
            "watch_events": nested, "watch_event_count": sum(cycle.watch_events.values()),
            "reactions": reaction_stats(cycle.reactions), "reconnect_seconds": sorted(cycle.reconnects)})

    def take_all(self, run_id: str) -> list[EngineEvent]:
        """The records of every cycle still open (a run that ends or is interrupted mid-cycle)."""
        return [record for cycle_id in list(self._cycles) if (record := self.take(cycle_id or None, run_id))]


def reaction_stats(seconds: array[float] | list[float]) -> dict[str, Any]:
    """Count, exact median, p90, p99 and maximum of reaction times (seconds)."""
    if not seconds:
        return {"count": 0}
    ordered = sorted(seconds)
    n = len(ordered)
    middle = n // 2
    median = ordered[middle] if n % 2 else (ordered[middle - 1] + ordered[middle]) / 2

    def at(p: float) -> float:
        return ordered[min(n - 1, round(p / 100 * (n - 1)))]

    return {"count": n, "median_s": median, "p90_s": at(90), "p99_s": at(99), "max_s": ordered[-1]}
