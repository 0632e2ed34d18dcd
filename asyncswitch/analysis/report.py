"""What ``analyze`` says about one run: a RunReport built from the artifacts of its directory.

Counts and cycle results come from summary.json when the run's last process wrote one, else from
the cycle_end records of metrics.jsonl. Latencies always come from the encoded histograms, which carry over
resumes. Failure phases, faults, process starts and what each cycle did (cycles.py: per-cycle samples,
phase spans, reconnects, alert and fault marks) come from metrics.jsonl.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hdrh.histogram import HdrHistogram

from ..config import PHASE_NAMES
from ..metrics.histograms import percentiles, units_per_ms
from .cycles import CycleSpan, Mark, cycle_samples, cycle_spans, marks, open_cycles, reconnects
from .rundir import RunArtifacts, read_run_dir

__all__ = ["AlertTally", "CycleRow", "FaultTally", "RunReport", "build_report", "latency_order", "load_report"]

SLOWEST_CYCLES = 5

_RUN_HISTOGRAMS = ("cycle", "cycle.succeeded", "cluster.reconnect", "reaction", "wait")


def latency_order(name: str) -> tuple[int, int, str]:
    """Sort key for histogram names: the phases in pipeline order, then the run-wide ones, then the rest."""
    phase = name.removeprefix("phase.")
    if phase != name:
        return (0, PHASE_NAMES.index(phase) if phase in PHASE_NAMES else len(PHASE_NAMES), phase)
    if name in _RUN_HISTOGRAMS:
        return (1, _RUN_HISTOGRAMS.index(name), name)
    return (2, 0, name)


@dataclass(frozen=True)
class CycleRow:
    cycle_id: str
    primary: str | None
    secondary: str | None
    success: bool
    duration_s: float | None
    error: str | None
    failed_phase: str | None
    """The phase that failed this cycle; None for a success or a failure outside the phases."""


@dataclass(frozen=True)
class AlertTally:
    rule: str
    count: int
    last_message: str


@dataclass(frozen=True)
class FaultTally:
    scenario: str
    injected: int
    not_injected: int
    """Injections that failed (the hub refused the change)."""
    rolled_back: int
    roll_back_failed: int
    skipped: int = 0
    """Faults whose target was absent at their moment, or whose moment never came."""
    recovered: int = 0
    failed_safe: int = 0
    damaged: int = 0
    """The verdicts of the cycles the scenario acted in (docs/faults.md)."""

    def add(self, other: FaultTally) -> FaultTally:
        return FaultTally(self.scenario, *(getattr(self, f) + getattr(other, f) for f in _TALLIED))


@dataclass(frozen=True)
class RunReport:
    run_dir: Path
    run_id: str
    started_at: str | None
    inputs: dict[str, Any]
    """The run's options as manifest.json records them."""
    simulator: dict[str, Any] | None
    """The embedded simulated pair's settings (clusters, profile, seed); None against real hubs."""
    hubs: dict[str, Any]
    versions: dict[str, Any]
    git_sha: str | None
    cycles: list[CycleRow]
    successes: int
    failures: int
    stop_reason: str | None
    interrupted: bool
    """The last process was interrupted or killed: the run may be resumed."""
    process_starts: int
    """run_start records: 1 for a run never resumed."""
    latency_ms: dict[str, dict[str, float]]
    """Percentiles, min, max, mean and count in milliseconds, per histogram, in latency_order."""
    alerts: list[AlertTally]
    faults: list[FaultTally]
    notes: list[str]
    """What the reader should know about the artifacts (a missing summary, a torn line ...)."""
    samples_ms: dict[str, list[float]] = field(default_factory=dict)
    """One value per cycle, by histogram name (see cycles.cycle_samples): what compare's rank test uses."""
    spans: list[CycleSpan] = field(default_factory=list)
    reconnects_s: dict[str, list[float]] = field(default_factory=dict)
    """Seconds from the activation's start to each cluster's reconnection, by cycle."""
    marks: list[Mark] = field(default_factory=list)
    fleet_size: int | None = None
    """Managed clusters in the fleet, when known (the embedded simulator's)."""
    histograms: dict[str, HdrHistogram] = field(default_factory=dict, repr=False, compare=False)
    """The decoded histograms the latencies come from (merged runs add theirs)."""
    run_dirs: list[Path] = field(default_factory=list)
    """Every run directory read: one, or several merged."""
    warnings: list[str] = field(default_factory=list)
    """Runs merged although their options differ."""

    @property
    def total_cycles(self) -> int:
        return self.successes + self.failures

    @property
    def success_rate(self) -> float | None:
        return self.successes / self.total_cycles if self.total_cycles else None

    @property
    def all_succeeded(self) -> bool:
        return self.total_cycles > 0 and self.failures == 0

    @property
    def damaged(self) -> int:
        """Cycles judged damaged after an injected fault (an invariant broke)."""
        return sum(fault.damaged for fault in self.faults)

    @property
    def failures_by_phase(self) -> dict[str, int]:
        counts = Counter(row.failed_phase for row in self.cycles if not row.success and row.failed_phase)
        return dict(sorted(counts.items(), key=lambda item: latency_order(f"phase.{item[0]}")))

    @property
    def failures_outside_phases(self) -> int:
        """Failed cycles with no failed phase: the cycle's task group failed (a monitor, a hub gone)."""
        return sum(1 for row in self.cycles if not row.success and row.failed_phase is None)

    @property
    def errors(self) -> list[tuple[str, int]]:
        """Distinct errors of the failed cycles, most frequent first."""
        return Counter(row.error or "(no error recorded)" for row in self.cycles if not row.success).most_common()

    def slowest_cycles(self, count: int = SLOWEST_CYCLES) -> list[CycleRow]:
        timed = [row for row in self.cycles if row.duration_s is not None]
        return sorted(timed, key=lambda row: row.duration_s or 0.0, reverse=True)[:count]

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "run_dir": str(self.run_dir), "run_dirs": [str(path) for path in self.run_dirs],
            "started_at": self.started_at, "notes": self.notes, "warnings": self.warnings,
            "inputs": self.inputs, "simulator": self.simulator, "hubs": self.hubs,
            "versions": self.versions, "git_sha": self.git_sha,
            "cycles": self.total_cycles, "successes": self.successes, "failures": self.failures,
            "success_rate": self.success_rate, "stop_reason": self.stop_reason, "interrupted": self.interrupted,
            "process_starts": self.process_starts,
            "latency_ms": self.latency_ms,
            "failures_by_phase": self.failures_by_phase, "failures_outside_phases": self.failures_outside_phases,
            "errors": [{"error": error, "count": count} for error, count in self.errors],
            "alerts": [asdict(alert) for alert in self.alerts],
            "faults": [asdict(fault) for fault in self.faults],
            "slowest_cycles": [row.cycle_id for row in self.slowest_cycles()],
            "cycle_results": [asdict(row) for row in self.cycles],
            "cycle_samples_ms": self.samples_ms,
        }


def load_report(path: Path) -> RunReport:
    """Read the run directory at ``path`` (never changing it) and report on it."""
    return build_report(read_run_dir(path))


def build_report(artifacts: RunArtifacts) -> RunReport:
    manifest = artifacts.manifest or {}
    summary = artifacts.summary if not _summary_is_stale(artifacts) else None
    cycles = _cycle_rows(artifacts, summary)
    if summary is not None:
        successes, failures = int(summary.get("successes", 0)), int(summary.get("failures", 0))
        end_state = summary.get("end_state") or {}
        stop_reason, interrupted = end_state.get("stop_reason"), bool(end_state.get("interrupted"))
        alerts = list(summary.get("alerts") or [])
    else:
        successes = sum(1 for row in cycles if row.success)
        failures = len(cycles) - successes
        stop_reason, interrupted = None, True
        alerts = artifacts.of("alert")
    return RunReport(
        run_dir=artifacts.path,
        run_id=_run_id(artifacts),
        started_at=manifest.get("started_at") or _first_start(artifacts),
        inputs=dict(manifest.get("inputs") or {}),
        simulator=manifest.get("embedded_simulator"),
        hubs=dict(manifest.get("hubs") or {}),
        versions=dict(manifest.get("versions") or {}),
        git_sha=manifest.get("git_sha"),
        cycles=cycles, successes=successes, failures=failures, stop_reason=stop_reason, interrupted=interrupted,
        process_starts=len(artifacts.of("run_start")),
        latency_ms={name: percentiles(artifacts.histograms[name], per_ms=units_per_ms(name))
                    for name in sorted(artifacts.histograms, key=latency_order)
                    if artifacts.histograms[name].get_total_count()},
        alerts=_alert_tallies(alerts),
        faults=_fault_tallies(artifacts),
        notes=_notes(artifacts, cycles=len(cycles)),
        samples_ms=cycle_samples(artifacts),
        spans=cycle_spans(artifacts),
        reconnects_s=reconnects(artifacts),
        marks=marks(artifacts),
        fleet_size=_fleet_size(manifest),
        histograms=dict(artifacts.histograms),
        run_dirs=[artifacts.path],
    )


def _fleet_size(manifest: dict[str, Any]) -> int | None:
    clusters = (manifest.get("embedded_simulator") or {}).get("clusters")
    return clusters if isinstance(clusters, int) and clusters > 0 else None


def _summary_is_stale(artifacts: RunArtifacts) -> bool:
    """A process started after the one that wrote summary.json and has not ended: a resume that was
    killed, or is still going. (A process writes its run_end record before its summary.)"""
    if artifacts.summary is None:
        return False
    last_start = max((float(r.get("ts") or 0) for r in artifacts.of("run_start")), default=None)
    last_end = max((float(r.get("ts") or 0) for r in artifacts.of("run_end")), default=None)
    return last_start is not None and (last_end is None or last_start > last_end)


def _cycle_rows(artifacts: RunArtifacts, summary: dict[str, Any] | None) -> list[CycleRow]:
    """One row per cycle: summary.json's cycle results, else the last cycle_end of each cycle (a cycle
    whose end was recorded just before a kill ends again when the run resumes)."""
    failed_phase = {record.get("cycle_id"): record.get("phase") for record in artifacts.of("phase_result")
                    if record.get("outcome") == "failed"}
    if summary is not None:
        ended = list(summary.get("cycle_results") or [])
    else:
        ended = list({record.get("cycle_id"): record for record in artifacts.of("cycle_end")}.values())
    rows = []
    for result in ended:
        success = bool(result.get("success"))
        duration = result.get("duration_s")
        rows.append(CycleRow(cycle_id=str(result.get("cycle_id")), primary=result.get("primary"),
                             secondary=result.get("secondary"), success=success,
                             duration_s=float(duration) if duration is not None else None, error=result.get("error"),
                             failed_phase=None if success else failed_phase.get(result.get("cycle_id"))))
    return rows


def _run_id(artifacts: RunArtifacts) -> str:
    for document in (artifacts.summary, artifacts.manifest):
        if document and document.get("run_id"):
            return str(document["run_id"])
    starts = artifacts.of("run_start")
    return str(starts[0].get("run_id")) if starts and starts[0].get("run_id") else artifacts.path.name


def _first_start(artifacts: RunArtifacts) -> str | None:
    starts = artifacts.of("run_start")
    if not starts or not isinstance(starts[0].get("ts"), int | float):
        return None
    return datetime.fromtimestamp(starts[0]["ts"], UTC).isoformat(timespec="milliseconds")


def _alert_tallies(alerts: list[dict[str, Any]]) -> list[AlertTally]:
    counts = Counter(str(alert.get("rule")) for alert in alerts)
    last = {str(alert.get("rule")): str(alert.get("message") or "") for alert in alerts}
    return [AlertTally(rule, count, last[rule]) for rule, count in counts.most_common()]


_TALLIED = ("injected", "not_injected", "rolled_back", "roll_back_failed", "skipped", "recovered", "failed_safe",
            "damaged")


def _fault_tallies(artifacts: RunArtifacts) -> list[FaultTally]:
    tallies: dict[str, Counter[str]] = {}
    for record in artifacts.of("fault_injected"):
        outcome = "injected" if record.get("success") else "not_injected"
        tallies.setdefault(str(record.get("scenario")), Counter())[outcome] += 1
    for record in artifacts.of("fault_rolled_back"):
        outcome = "rolled_back" if record.get("success") else "roll_back_failed"
        tallies.setdefault(str(record.get("scenario")), Counter())[outcome] += 1
    for record in artifacts.of("fault_skipped"):
        tallies.setdefault(str(record.get("scenario")), Counter())["skipped"] += 1
    for record in artifacts.of("cycle_verdict"):
        for scenario in record.get("acted") or []:
            tallies.setdefault(str(scenario), Counter())[str(record.get("verdict")).replace("-", "_")] += 1
    return [FaultTally(scenario, *(counts[f] for f in _TALLIED)) for scenario, counts in sorted(tallies.items())]


def _notes(artifacts: RunArtifacts, *, cycles: int) -> list[str]:
    notes = []
    fallback = ("cycles are counted from metrics.jsonl and latencies come from histograms/ as saved at the "
                "last cycle end")
    if artifacts.summary is None:
        notes.append(f"no summary.json: the run was killed or is still going; {fallback}")
    elif _summary_is_stale(artifacts):
        notes.append("summary.json predates the run's last process start (a resume that was killed or is still "
                     f"going); {fallback}")
    if artifacts.manifest is None:
        notes.append("no manifest.json: the run's inputs and versions are unknown")
    if not artifacts.has_metrics:
        notes.append("no metrics.jsonl: failure phases, faults and process starts are unknown")
    elif artifacts.torn_last_line:
        notes.append("metrics.jsonl ends in a torn line (a process killed mid-write); it was skipped")
    if not artifacts.histograms:
        notes.append("no histograms in histograms/: no latencies")
    else:
        timed = artifacts.histograms["cycle"].get_total_count() if "cycle" in artifacts.histograms else 0
        # A resumed cycle is counted but not timed: its duration covers only the part after the resume.
        resumed = len({r.get("cycle_id") for r in artifacts.of("cycle_end") if r.get("resumed")})
        if resumed:
            notes.append(f"{resumed} resumed cycle{'s are' if resumed > 1 else ' is'} counted but not in the cycle "
                         "histogram (only the part after the resume was timed)")
        if timed < cycles - resumed:
            notes.append(f"histograms/ holds {timed} of the {cycles} cycles (saved at each cycle end, so the "
                         "last ones were lost or never saved): latencies are partial")
    starts = len(artifacts.of("run_start"))
    if starts > 1:
        notes.append(f"the run was resumed {starts - 1} time{'s' if starts > 2 else ''}: its cycles come from "
                     f"{starts} processes, and its histograms were carried over each resume")
    in_flight = open_cycles(artifacts)
    if in_flight:
        notes.append(f"{', '.join(in_flight)} started and has not ended: the run is still going, or was killed "
                     "during it; its phases so far are on the timeline, not in the counts")
    return notes
