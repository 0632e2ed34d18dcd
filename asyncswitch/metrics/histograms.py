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
from ..files import write_atomic

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
            if data.get("resumed"):
                return  # its duration covers only the part after the resume: it would bias the histogram low
            self.record("cycle", data["duration_s"] * 1000)
            if data.get("success"):
                self.record("cycle.succeeded", data["duration_s"] * 1000)
        elif event.type in ("cluster_reconnected", "reaction") and data.get("distorted"):
            return  # measured across a watch stall: it says how long the watch was blind, not the hub
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

    def encoded(self) -> dict[str, str]:
        """Every histogram in HdrHistogram's compressed base64 form, by name (what a commit holds)."""
        return {name: histogram.encode().decode("ascii") for name, histogram in sorted(self.histograms.items())}

    def load_encoded(self, encoded: dict[str, str]) -> None:
        """Continue from committed histograms (a resumed run); ValueError if one does not decode."""
        for name, text in encoded.items():
            histogram = new_histogram(name)
            try:
                histogram.decode_and_add(text.encode("ascii"))
            except Exception as exc:  # hdrh raises bare exceptions and zlib/base64 errors alike
                raise ValueError(f"histogram {name!r} does not decode: {type(exc).__name__}") from None
            self.histograms[name] = histogram

    def save(self, directory: Path) -> None:
        """Export each histogram to ``<name>.hdr`` (atomically, file by file): a copy for readers of the
        run directory. The run's committed histograms live in run_state.json."""
        for name, text in self.encoded().items():
            write_atomic(directory / f"{name}.hdr", text.encode("ascii"))

    def load(self, directory: Path) -> None:
        """Continue from exported histograms (a run committed before histograms moved into run_state.json)."""
        self.load_encoded({path.name[: -len(".hdr")]: path.read_text(encoding="ascii")
                           for path in sorted(directory.glob("*.hdr"))})
