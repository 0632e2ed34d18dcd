"""The closing summary of a session that ran e2e cycles: per-phase percentiles over all its runs
(their HDR histograms merged), cycles succeeded and failed, and the run directories."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hdrh.histogram import HdrHistogram

from ..analysis.report import build_report, latency_order
from ..analysis.rundir import read_run_dir
from ..errors import ConfigError
from ..metrics.histograms import new_histogram, percentiles, units_per_ms
from .session import RunRecord

__all__ = ["write_summary"]

_SHOWN = ("cycle", "cluster.reconnect")


def write_summary(reporter: pytest.TerminalReporter, runs: Sequence[RunRecord]) -> None:
    if not runs:
        return
    merged: dict[str, HdrHistogram] = {}
    lines: list[str] = []
    passed = failed = 0
    for run in runs:
        try:
            artifacts = read_run_dir(run.run_dir)
        except ConfigError as exc:
            lines.append(f"  {run.run_dir}: unreadable ({exc})")
            continue
        report = build_report(artifacts)
        passed, failed = passed + report.successes, failed + report.failures
        for name, histogram in artifacts.histograms.items():
            if name.startswith("phase.") or name in _SHOWN:
                merged.setdefault(name, new_histogram(name)).add(histogram)
        lines.append(f"  {run.run_dir}  {report.successes}/{report.total_cycles} succeeded, first cycle "
                     f"{run.primary} -> {run.secondary}  ({run.test})")
    reporter.write_sep("=", f"asyncswitch e2e: {len(runs)} run(s), {passed + failed} cycle(s): "
                            f"{passed} succeeded, {failed} failed")
    if merged:
        reporter.write_line(f"{'phase':32}{'count':>7}{'p50 (s)':>10}{'p95 (s)':>10}{'p99 (s)':>10}{'max (s)':>10}")
        for name in sorted(merged, key=latency_order):
            stats = percentiles(merged[name], per_ms=units_per_ms(name))
            if stats.get("count"):
                reporter.write_line(f"{name.removeprefix('phase.'):32}{int(stats['count']):>7}" + "".join(
                    f"{stats[key] / 1000:>10.3f}" for key in ("p50", "p95", "p99", "max")))
    reporter.write_line("run directories:")
    for line in lines:
        reporter.write_line(line)
