"""What each cycle did, from the records of metrics.jsonl: per-cycle samples of every compared metric
(what compare's rank test works on), the spans of the cycles and their phases on the run's clock,
the clusters' reconnect times, and the alerts and injected faults in time.

A cycle that ended twice (its end was recorded just before a kill, and it ended again on resume)
counts once, with its last record.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .rundir import RunArtifacts

__all__ = ["CycleSpan", "Mark", "PhaseSpan", "cycle_samples", "cycle_spans", "marks", "open_cycles", "reconnects"]


@dataclass(frozen=True)
class PhaseSpan:
    phase: str
    start: float
    """Wall-clock seconds (epoch), as the records' ``ts``."""
    end: float
    outcome: str
    """``succeeded`` or ``failed``."""
    error: str | None = None


@dataclass(frozen=True)
class CycleSpan:
    cycle_id: str
    start: float
    end: float | None
    """None for a cycle that has not ended (a run still going, or killed during it)."""
    success: bool | None
    phases: list[PhaseSpan] = field(default_factory=list)


@dataclass(frozen=True)
class Mark:
    """Something that happened at one moment of the run: an alert or an injected fault."""

    ts: float
    kind: str
    """``alert`` or ``fault``."""
    label: str


def _by_cycle(records: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        if record.get("cycle_id"):
            grouped.setdefault(str(record["cycle_id"]), []).append(record)
    return grouped


def _seconds(record: dict[str, Any], key: str) -> float | None:
    value = record.get(key)
    return float(value) if isinstance(value, int | float) else None


def cycle_samples(artifacts: RunArtifacts) -> dict[str, list[float]]:
    """Milliseconds, one value per cycle, by histogram name: each succeeded phase (``phase.<name>``),
    ``cycle`` and ``cycle.succeeded``, and the median ``cluster.reconnect`` and ``reaction`` of each
    cycle (clusters and reactions of one cycle are not independent samples: the cycle is)."""
    samples: dict[str, list[float]] = {}
    phases: dict[tuple[str, str], float] = {}
    for record in artifacts.of("phase_result"):
        seconds = _seconds(record, "duration_s")
        if record.get("outcome") == "succeeded" and seconds is not None:
            phases[(str(record.get("cycle_id")), str(record.get("phase")))] = seconds
    for (_, phase), seconds in phases.items():
        samples.setdefault(f"phase.{phase}", []).append(1000 * seconds)
    ends = {str(record.get("cycle_id")): record for record in artifacts.of("cycle_end")}
    for record in ends.values():
        seconds = _seconds(record, "duration_s")
        if seconds is None:
            continue
        samples.setdefault("cycle", []).append(1000 * seconds)
        if record.get("success"):
            samples.setdefault("cycle.succeeded", []).append(1000 * seconds)
    for name, record_type in (("cluster.reconnect", "cluster_reconnected"), ("reaction", "reaction")):
        for records in _by_cycle(artifacts.of(record_type)).values():
            values = [value for record in records if (value := _seconds(record, "seconds")) is not None]
            if values:
                samples.setdefault(name, []).append(1000 * statistics.median(values))
    # Without --record-events a cycle's reactions and reconnects are in its tally (cycle_events).
    recorded = {str(record.get("cycle_id")) for record in artifacts.of("reaction")}
    for cycle_id, record in _tallies(artifacts).items():
        median = _seconds(record.get("reactions") or {}, "median_s")
        if cycle_id not in recorded and median is not None:
            samples.setdefault("reaction", []).append(1000 * median)
    for tallied in _tallied_reconnects(artifacts).values():
        if tallied:
            samples.setdefault("cluster.reconnect", []).append(1000 * statistics.median(tallied))
    return samples


def _tallies(artifacts: RunArtifacts) -> dict[str, dict[str, Any]]:
    return {str(record.get("cycle_id")): record for record in artifacts.of("cycle_events")}


def _tallied_reconnects(artifacts: RunArtifacts) -> dict[str, list[float]]:
    """Reconnect seconds of the cycles that have no cluster_reconnected records, from their tallies."""
    recorded = {str(record.get("cycle_id")) for record in artifacts.of("cluster_reconnected")}
    return {cycle_id: [float(s) for s in record.get("reconnect_seconds") or [] if isinstance(s, int | float)]
            for cycle_id, record in _tallies(artifacts).items() if cycle_id not in recorded}


def cycle_spans(artifacts: RunArtifacts) -> list[CycleSpan]:
    """Every started cycle, in start order, with its phases (a phase still going has no span)."""
    starts = {str(record.get("cycle_id")): record for record in artifacts.of("cycle_start")}
    ends = {str(record.get("cycle_id")): record for record in artifacts.of("cycle_end")}
    phase_starts = {(str(r.get("cycle_id")), str(r.get("phase"))): r for r in artifacts.of("phase_start")}
    phases: dict[str, dict[str, PhaseSpan]] = {}
    for record in artifacts.of("phase_result"):
        key = (str(record.get("cycle_id")), str(record.get("phase")))
        end = _seconds(record, "ts")
        started = phase_starts.get(key)
        start = _seconds(started, "ts") if started is not None else None
        if start is None and end is not None and (duration := _seconds(record, "duration_s")) is not None:
            start = end - duration
        if start is not None and end is not None:
            phases.setdefault(key[0], {})[key[1]] = PhaseSpan(key[1], start, end, str(record.get("outcome")),
                                                                  record.get("error"))
    spans = []
    for cycle_id, record in starts.items():
        start = _seconds(record, "ts")
        if start is None:
            continue
        end_record = ends.get(cycle_id)
        spans.append(CycleSpan(cycle_id, start, _seconds(end_record, "ts") if end_record else None,
                               bool(end_record.get("success")) if end_record else None,
                               sorted(phases.get(cycle_id, {}).values(), key=lambda span: span.start)))
    return sorted(spans, key=lambda span: span.start)


def open_cycles(artifacts: RunArtifacts) -> list[str]:
    """Cycles whose last start has no end after it: in flight when the run was read (or killed)."""
    last_start = {str(r.get("cycle_id")): _seconds(r, "ts") or 0.0 for r in artifacts.of("cycle_start")}
    last_end = {str(r.get("cycle_id")): _seconds(r, "ts") or 0.0 for r in artifacts.of("cycle_end")}
    return [cycle for cycle, start in last_start.items() if cycle not in last_end or last_end[cycle] < start]


def reconnects(artifacts: RunArtifacts) -> dict[str, list[float]]:
    """Seconds from the start of the activation to each cluster's reconnection, sorted, by cycle."""
    found = {cycle: sorted(value for record in records if (value := _seconds(record, "seconds")) is not None)
             for cycle, records in _by_cycle(artifacts.of("cluster_reconnected")).items()}
    found.update({cycle: seconds for cycle, seconds in _tallied_reconnects(artifacts).items() if seconds})
    return found


def marks(artifacts: RunArtifacts) -> list[Mark]:
    """Alerts and injected faults (that were injected), in time order."""
    found = [Mark(ts, "alert", str(record.get("rule"))) for record in artifacts.of("alert")
             if (ts := _seconds(record, "ts")) is not None]
    found += [Mark(ts, "fault", str(record.get("scenario"))) for record in artifacts.of("fault_injected")
              if record.get("success") and (ts := _seconds(record, "ts")) is not None]
    return sorted(found, key=lambda mark: mark.ts)
