"""The HDR collector: latency histograms per phase, per cycle, per reconnecting cluster, per wait,
and the reaction latency of the monitors (a write of ours → the watch event that shows it).

Values are recorded in milliseconds (1 ms to 7 days, 3 significant digits), except the histograms
named in MICROSECOND_HISTOGRAMS (1 µs to 1 h): reactions take a few milliseconds, where whole
milliseconds would say nothing. Everything reported is in milliseconds. Histograms are written
encoded (HdrHistogram's compressed base64 form), so they merge across cycles, resumed runs and
whole runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from hdrh.histogram import HdrHistogram

from ..engine.events import EngineEvent

__all__ = ["MICROSECOND_HISTOGRAMS", "HdrCollector", "mean", "new_histogram", "percentiles", "units_per_ms"]

_MAX_MS = 7 * 24 * 3600 * 1000
_MAX_US = 3600 * 1000 * 1000
PERCENTILES = (50.0, 90.0, 95.0, 99.0)
MICROSECOND_HISTOGRAMS = frozenset({"reaction"})


def units_per_ms(name: str) -> int:
    """How many recorded units make a millisecond in the histogram of this name."""
    return 1000 if name in MICROSECOND_HISTOGRAMS else 1


def new_histogram(name: str = "") -> HdrHistogram:
    return HdrHistogram(1, _MAX_US if units_per_ms(name) > 1 else _MAX_MS, 3)


def percentiles(histogram: HdrHistogram, *, per_ms: int = 1) -> dict[str, float]:
    """p50/p90/p95/p99, min, max, mean and count, in milliseconds (``per_ms``: recorded units per ms)."""
    if histogram.get_total_count() == 0:
        return {"count": 0}
    out = {f"p{p:g}": histogram.get_value_at_percentile(p) / per_ms for p in PERCENTILES}
    out.update(count=histogram.get_total_count(), min=histogram.get_min_value() / per_ms,
               max=histogram.get_max_value() / per_ms, mean=mean(histogram) / per_ms)
    return out


def mean(histogram: HdrHistogram) -> float:
    """The mean, as HdrHistogram.get_mean_value computes it, in a quarter of the time.

    The library walks every bucket through its Python iterator (tens of ms per histogram, a second
    or more at the end of a run); a plain pass over the counts array does the same sum."""
    total: int = histogram.get_total_count()
    if not total:
        return 0.0
    weighted: int = 0
    for index, count in enumerate(histogram.counts):
        if count:
            lowest = histogram.get_value_from_index(index)
            weighted += count * (lowest + (histogram.get_highest_equivalent_value(lowest) - lowest + 1) // 2)
    return float(weighted) / total


class HdrCollector:
    """Consumes engine events and keeps one histogram per measured thing."""

    CONSUMES = frozenset({"phase_result", "cycle_end", "cluster_reconnected", "reaction", "wait", "fault_rolled_back"})
    """The record types :meth:`consume` measures (what to subscribe it to)."""

    def __init__(self, queue: asyncio.Queue[EngineEvent | None] | None = None, *,
                 on_update: Callable[[HdrCollector], None] | None = None) -> None:
        self.queue = queue
        self.on_update = on_update
        self.histograms: dict[str, HdrHistogram] = {}

    def record(self, name: str, milliseconds: float) -> None:
        histogram = self.histograms.get(name)
        if histogram is None:
            histogram = self.histograms[name] = new_histogram(name)
        value = round(milliseconds * units_per_ms(name))
        histogram.record_value(max(1, min(histogram.highest_trackable_value, value)))

    def consume(self, event: EngineEvent) -> None:
        data = event.data
        if event.type == "phase_result" and data.get("outcome") == "succeeded":
            self.record(f"phase.{data['phase']}", data["duration_s"] * 1000)
        elif event.type == "cycle_end":
            self.record("cycle", data["duration_s"] * 1000)
            if data.get("success"):
                self.record("cycle.succeeded", data["duration_s"] * 1000)
        elif event.type == "cluster_reconnected":
            self.record("cluster.reconnect", data["seconds"] * 1000)
        elif event.type == "reaction":
            self.record("reaction", max(0.0, data["seconds"]) * 1000)
        elif event.type == "wait" and data.get("event") == "satisfied":
            self.record("wait", float(data.get("waited") or 0.0) * 1000)
        elif event.type == "fault_rolled_back" and data.get("back") and data.get("recovery_s") is not None:
            # Time to recovery: from the injection until the target was back after the roll-back.
            self.record(f"fault.{data['scenario']}", float(data["recovery_s"]) * 1000)
        else:
            return
        if self.on_update is not None:
            self.on_update(self)

    async def run(self) -> None:
        assert self.queue is not None
        while (event := await self.queue.get()) is not None:
            self.consume(event)

    def value_at(self, name: str, percentile: float) -> float | None:
        """One percentile of one histogram, in milliseconds (None before its first value).

        Cheap enough per event, unlike :meth:`summary`, whose means walk every bucket (tens of ms each)."""
        histogram = self.histograms.get(name)
        if histogram is None or histogram.get_total_count() == 0:
            return None
        return float(histogram.get_value_at_percentile(percentile)) / units_per_ms(name)

    def summary(self) -> dict[str, dict[str, float]]:
        return {name: percentiles(h, per_ms=units_per_ms(name)) for name, h in sorted(self.histograms.items())}

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        for name, histogram in self.histograms.items():
            tmp = directory / f".{name}.hdr.tmp"
            tmp.write_bytes(histogram.encode())
            tmp.replace(directory / f"{name}.hdr")

    def load(self, directory: Path) -> None:
        """Continue from saved histograms (a resumed run)."""
        for path in sorted(directory.glob("*.hdr")):
            name = path.name[: -len(".hdr")]
            histogram = new_histogram(name)
            histogram.decode_and_add(path.read_bytes())
            self.histograms[name] = histogram
