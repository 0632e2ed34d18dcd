"""What ``compare`` says about two runs: latency percentiles side by side, which differences are more
than seed-to-seed noise, and inputs that make the comparison unfair.

A percentile regressed when all of these hold:

- candidate / baseline > threshold, and candidate - baseline > min_delta_ms (1 ms → 2 ms is noise);
- a rank test (Mann-Whitney U) on the two runs' per-cycle samples of that metric says the runs differ,
  p < alpha = 0.05 after Holm's adjustment over the metrics compared;
- both runs have enough cycles to support the percentile (statistics.supports_percentile): p99 from
  12 cycles is the slowest cycle, and is shown but never gates. The cycles count, not the values in
  a histogram: the reconnects or reactions of one cycle are not independent samples.

An improvement is flagged by the same rule the other way round. A success rate lower than the
baseline's is a regression too.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..errors import ConfigError
from .inputs import COMPARED_INPUTS, InputDifference, input_differences
from .report import RunReport, latency_order
from .statistics import ALPHA, detectable_ratio, holm, rank_test, supports_percentile

__all__ = ["COMPARED_INPUTS", "COMPARED_PERCENTILES", "DEFAULT_MIN_DELTA_MS", "DEFAULT_THRESHOLD", "Comparison",
           "InputDifference", "MetricTest", "PercentileRow", "compare_reports"]

DEFAULT_THRESHOLD = 1.2
"""A percentile regressed when the candidate's is more than this many times the baseline's ..."""
DEFAULT_MIN_DELTA_MS = 5.0
"""... and more than this many milliseconds above it (and the rank test says the runs differ)."""
COMPARED_PERCENTILES = ("p50", "p95", "p99")

_RUN_METRICS = frozenset({"cycle", "cluster.reconnect", "reaction"})


@dataclass(frozen=True)
class MetricTest:
    """The rank test of one metric on the two runs' per-cycle samples."""

    metric: str
    baseline_samples: int
    candidate_samples: int
    p_value: float | None
    """Holm-adjusted over the metrics compared; None when there is nothing to test (no per-cycle
    samples in a run, or every value equal)."""
    detectable_ratio: float | None
    """The slowdown these sample counts and spreads could detect at Holm's strictest threshold
    (alpha / metrics tested); None: too few cycles for any."""

    @property
    def significant(self) -> bool:
        return self.p_value is not None and self.p_value < ALPHA


@dataclass(frozen=True)
class PercentileRow:
    metric: str
    """A histogram name: ``phase.activation``, ``cycle``, ``cluster.reconnect``, ``reaction``."""
    percentile: str
    baseline_ms: float | None
    """None when the baseline has no such histogram."""
    candidate_ms: float | None
    regression: bool
    improvement: bool = False
    supported: bool = True
    """Both runs' sample counts support this percentile; one that is not never gates."""

    @property
    def ratio(self) -> float | None:
        if self.baseline_ms is None or self.candidate_ms is None or self.baseline_ms <= 0:
            return None
        return self.candidate_ms / self.baseline_ms


@dataclass(frozen=True)
class Comparison:
    baseline: RunReport
    candidate: RunReport
    threshold: float
    min_delta_ms: float
    rows: list[PercentileRow]
    input_differences: list[InputDifference]
    tests: dict[str, MetricTest]
    """By metric, in the order of ``rows``."""

    @property
    def success_rate_dropped(self) -> bool:
        before, after = self.baseline.success_rate, self.candidate.success_rate
        return before is not None and after is not None and after < before

    @property
    def regressions(self) -> list[PercentileRow]:
        return [row for row in self.rows if row.regression]

    @property
    def improvements(self) -> list[PercentileRow]:
        return [row for row in self.rows if row.improvement]

    @property
    def regressed(self) -> bool:
        return bool(self.regressions) or self.success_rate_dropped

    def to_json(self) -> dict[str, Any]:
        return {
            "baseline": {"run_id": self.baseline.run_id, "run_dir": str(self.baseline.run_dir),
                         "success_rate": self.baseline.success_rate, "cycles": self.baseline.total_cycles},
            "candidate": {"run_id": self.candidate.run_id, "run_dir": str(self.candidate.run_dir),
                          "success_rate": self.candidate.success_rate, "cycles": self.candidate.total_cycles},
            "threshold": self.threshold, "min_delta_ms": self.min_delta_ms, "alpha": ALPHA,
            "input_differences": [asdict(difference) for difference in self.input_differences],
            "tests": [asdict(test) | {"significant": test.significant} for test in self.tests.values()],
            "percentiles": [{**asdict(row), "ratio": row.ratio} for row in self.rows],
            "success_rate_dropped": self.success_rate_dropped,
            "regressed": self.regressed,
        }


def _tests(baseline: RunReport, candidate: RunReport, metrics: list[str]) -> dict[str, MetricTest]:
    samples = [(baseline.samples_ms.get(metric, []), candidate.samples_ms.get(metric, [])) for metric in metrics]
    adjusted = holm([rank_test(before, after) for before, after in samples])
    # Holm's threshold for one metric is at worst alpha / (metrics tested): what is detectable for sure.
    worst_alpha = ALPHA / max(1, sum(p is not None for p in adjusted))
    return {metric: MetricTest(metric, len(before), len(after), p,
                               detectable_ratio(before, after, alpha=worst_alpha))
            for metric, (before, after), p in zip(metrics, samples, adjusted, strict=True)}


def compare_reports(baseline: RunReport, candidate: RunReport, *, threshold: float = DEFAULT_THRESHOLD,
                    min_delta_ms: float = DEFAULT_MIN_DELTA_MS) -> Comparison:
    if not threshold >= 1.0:
        raise ConfigError(f"--threshold must be at least 1.0 (a ratio candidate/baseline), not {threshold}")
    if not min_delta_ms >= 0.0:
        raise ConfigError(f"--min-delta-ms must not be negative, not {min_delta_ms}")
    metrics = sorted({name for name in (*baseline.latency_ms, *candidate.latency_ms)
                      if name.startswith("phase.") or name in _RUN_METRICS}, key=latency_order)
    tests = _tests(baseline, candidate, metrics)
    rows = []
    for metric in metrics:
        test = tests[metric]
        for percentile in COMPARED_PERCENTILES:
            before = baseline.latency_ms.get(metric, {}).get(percentile)
            after = candidate.latency_ms.get(metric, {}).get(percentile)
            level = float(percentile.removeprefix("p"))
            # The cycles are the independent samples: 40 reconnects of 8 cycles support no p95.
            supported = (supports_percentile(test.baseline_samples, level)
                         and supports_percentile(test.candidate_samples, level))
            regression = improvement = False
            if before is not None and after is not None and supported and test.significant:
                regression = after > before * threshold and after - before > min_delta_ms
                improvement = before > after * threshold and before - after > min_delta_ms
            rows.append(PercentileRow(metric, percentile, before, after, regression, improvement, supported))
    return Comparison(baseline, candidate, threshold, min_delta_ms, rows,
                      input_differences(baseline.inputs, candidate.inputs), tests)
