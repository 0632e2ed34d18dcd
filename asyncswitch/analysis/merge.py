"""Several run directories as one report (``analyze RUN_DIR...``), e.g. the runs of parallel Jobs:
the histograms are added (HdrHistograms merge exactly), the counts add up, every cycle is kept under
``<run_id>/<cycle_id>``, and a warning names the options in which the runs differ."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from hdrh.histogram import HdrHistogram

from ..errors import ConfigError
from ..metrics.histograms import new_histogram, percentiles, units_per_ms
from .cycles import CycleSpan
from .formatting import format_input
from .inputs import input_differences
from .report import AlertTally, FaultTally, RunReport, latency_order, load_report

__all__ = ["load_reports", "merge_reports"]


def load_reports(paths: Sequence[Path]) -> RunReport:
    """One run directory's report, or the merged report of several."""
    seen: set[Path] = set()
    for path in paths:
        if path.resolve() in seen:
            raise ConfigError(f"{path} is given more than once: its cycles would be counted twice")
        seen.add(path.resolve())
    reports = [load_report(path) for path in paths]
    return reports[0] if len(reports) == 1 else merge_reports(reports)


def _merged_histograms(reports: Sequence[RunReport]) -> dict[str, HdrHistogram]:
    merged: dict[str, HdrHistogram] = {}
    for report in reports:
        for name, histogram in report.histograms.items():
            if name not in merged:
                merged[name] = new_histogram(name)
            merged[name].add(histogram)
    return merged


def _warnings(reports: Sequence[RunReport]) -> list[str]:
    first = reports[0]
    warnings = []
    for other in reports[1:]:
        differences = input_differences(first.inputs, other.inputs)
        if differences:
            warnings.append(f"the merged runs' options differ, so their timings are not alike: {first.run_id} vs "
                            f"{other.run_id}: " + "; ".join(f"{d.name} {format_input(d.baseline)} vs "
                                                             f"{format_input(d.candidate)}" for d in differences))
    return warnings


def merge_reports(reports: Sequence[RunReport]) -> RunReport:
    first = reports[0]
    histograms = _merged_histograms(reports)

    def qualified(report: RunReport, cycle_id: str) -> str:
        return f"{report.run_id}/{cycle_id}"

    samples: dict[str, list[float]] = {}
    for report in reports:
        for name, values in report.samples_ms.items():
            samples.setdefault(name, []).extend(values)
    stop_reasons = list(dict.fromkeys(str(report.stop_reason) for report in reports))
    started = [report.started_at for report in reports if report.started_at]
    return replace(
        first,
        run_id=" + ".join(report.run_id for report in reports),
        started_at=min(started) if started else None,
        hubs={name: facts for report in reports for name, facts in report.hubs.items()},
        cycles=[replace(row, cycle_id=qualified(report, row.cycle_id)) for report in reports for row in report.cycles],
        successes=sum(report.successes for report in reports),
        failures=sum(report.failures for report in reports),
        stop_reason=stop_reasons[0] if len(stop_reasons) == 1 else "; ".join(stop_reasons),
        interrupted=any(report.interrupted for report in reports),
        process_starts=sum(report.process_starts for report in reports),
        latency_ms={name: percentiles(histograms[name], per_ms=units_per_ms(name))
                    for name in sorted(histograms, key=latency_order) if histograms[name].get_total_count()},
        alerts=_merged_alerts(reports),
        faults=_merged_faults(reports),
        notes=[f"merged {len(reports)} runs: latencies from their added histograms, counts added up",
               *(f"{report.run_id}: {note}" for report in reports for note in report.notes)],
        samples_ms=samples,
        spans=sorted((CycleSpan(qualified(report, span.cycle_id), span.start, span.end, span.success, span.phases)
                      for report in reports for span in report.spans), key=lambda span: span.start),
        reconnects_s={qualified(report, cycle): values for report in reports
                      for cycle, values in report.reconnects_s.items()},
        marks=sorted((mark for report in reports for mark in report.marks), key=lambda mark: mark.ts),
        fleet_size=first.fleet_size,
        histograms=histograms,
        run_dirs=[path for report in reports for path in report.run_dirs],
        warnings=_warnings(reports),
    )


def _merged_alerts(reports: Sequence[RunReport]) -> list[AlertTally]:
    counts: dict[str, AlertTally] = {}
    for report in reports:
        for alert in report.alerts:
            before = counts.get(alert.rule)
            counts[alert.rule] = replace(alert, count=alert.count + (before.count if before else 0))
    return sorted(counts.values(), key=lambda alert: -alert.count)


def _merged_faults(reports: Sequence[RunReport]) -> list[FaultTally]:
    tallies: dict[str, FaultTally] = {}
    for report in reports:
        for fault in report.faults:
            before = tallies.get(fault.scenario)
            tallies[fault.scenario] = fault if before is None else before.add(fault)
    return [tallies[name] for name in sorted(tallies)]
