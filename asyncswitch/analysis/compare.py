"""What ``compare`` says about two runs: latency percentiles side by side, regressions, and inputs
that make the comparison unfair.

A percentile regressed when candidate / baseline > threshold AND candidate - baseline > min_delta_ms:
the ratio alone would flag 1 ms → 2 ms, which on a fast simulated hub is noise, not a regression.
A success rate lower than the baseline's is a regression too.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..errors import ConfigError
from .report import RunReport, latency_order

__all__ = ["COMPARED_INPUTS", "COMPARED_PERCENTILES", "DEFAULT_MIN_DELTA_MS", "DEFAULT_THRESHOLD", "Comparison",
           "InputDifference", "PercentileRow", "compare_reports"]

DEFAULT_THRESHOLD = 1.2
"""A percentile regressed when the candidate's is more than this many times the baseline's ..."""
DEFAULT_MIN_DELTA_MS = 5.0
"""... and more than this many milliseconds above it."""
COMPARED_PERCENTILES = ("p50", "p95", "p99")
COMPARED_INPUTS = ("primary_context", "secondary_context", "method", "activation_method", "old_hub_action",
                   "dry_run", "inject_failure", "inject_at_phase", "fault_hold", "min_managed_clusters",
                   "sim_clusters", "sim_profile")
"""Inputs that change what a cycle does or how long it takes; runs that differ in one are not comparable."""

_RUN_METRICS = frozenset({"cycle", "cluster.reconnect", "reaction"})


@dataclass(frozen=True)
class PercentileRow:
    metric: str
    """A histogram name: ``phase.activation``, ``cycle``, ``cluster.reconnect``, ``reaction``."""
    percentile: str
    baseline_ms: float | None
    """None when the baseline has no such histogram."""
    candidate_ms: float | None
    regression: bool

    @property
    def ratio(self) -> float | None:
        if self.baseline_ms is None or self.candidate_ms is None or self.baseline_ms <= 0:
            return None
        return self.candidate_ms / self.baseline_ms


@dataclass(frozen=True)
class InputDifference:
    name: str
    baseline: Any
    candidate: Any


@dataclass(frozen=True)
class Comparison:
    baseline: RunReport
    candidate: RunReport
    threshold: float
    min_delta_ms: float
    rows: list[PercentileRow]
    input_differences: list[InputDifference]

    @property
    def success_rate_dropped(self) -> bool:
        before, after = self.baseline.success_rate, self.candidate.success_rate
        return before is not None and after is not None and after < before

    @property
    def regressions(self) -> list[PercentileRow]:
        return [row for row in self.rows if row.regression]

    @property
    def regressed(self) -> bool:
        return bool(self.regressions) or self.success_rate_dropped

    def to_json(self) -> dict[str, Any]:
        return {
            "baseline": {"run_id": self.baseline.run_id, "run_dir": str(self.baseline.run_dir),
                         "success_rate": self.baseline.success_rate, "cycles": self.baseline.total_cycles},
            "candidate": {"run_id": self.candidate.run_id, "run_dir": str(self.candidate.run_dir),
                          "success_rate": self.candidate.success_rate, "cycles": self.candidate.total_cycles},
            "threshold": self.threshold, "min_delta_ms": self.min_delta_ms,
            "input_differences": [asdict(difference) for difference in self.input_differences],
            "percentiles": [{**asdict(row), "ratio": row.ratio} for row in self.rows],
            "success_rate_dropped": self.success_rate_dropped,
            "regressed": self.regressed,
        }


def compare_reports(baseline: RunReport, candidate: RunReport, *, threshold: float = DEFAULT_THRESHOLD,
                    min_delta_ms: float = DEFAULT_MIN_DELTA_MS) -> Comparison:
    if not threshold >= 1.0:
        raise ConfigError(f"--threshold must be at least 1.0 (a ratio candidate/baseline), not {threshold}")
    if not min_delta_ms >= 0.0:
        raise ConfigError(f"--min-delta-ms must not be negative, not {min_delta_ms}")
    metrics = sorted({name for name in (*baseline.latency_ms, *candidate.latency_ms)
                      if name.startswith("phase.") or name in _RUN_METRICS}, key=latency_order)
    rows = []
    for metric in metrics:
        for percentile in COMPARED_PERCENTILES:
            before = baseline.latency_ms.get(metric, {}).get(percentile)
            after = candidate.latency_ms.get(metric, {}).get(percentile)
            regression = (before is not None and after is not None and after > before * threshold
                          and after - before > min_delta_ms)
            rows.append(PercentileRow(metric, percentile, before, after, regression))
    # An input only one run records (no manifest.json, an older version) is unknown, not different.
    differences = [InputDifference(name, baseline.inputs[name], candidate.inputs[name]) for name in COMPARED_INPUTS
                   if name in baseline.inputs and name in candidate.inputs
                   and baseline.inputs[name] != candidate.inputs[name]]
    return Comparison(baseline, candidate, threshold, min_delta_ms, rows, differences)
