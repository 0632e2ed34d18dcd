"""The text renderings of a RunReport and a Comparison: rich tables (no colour when not on a terminal)
with a light frame that survives pasting into a ticket.

The console interprets no markup, emoji codes or highlighting: an error message from the artifacts
prints as it was recorded.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TextIO

from rich import box
from rich.console import Console
from rich.table import Table

from .compare import COMPARED_PERCENTILES, Comparison
from .formatting import (
    describe_directories,
    describe_hubs,
    describe_lifecycle,
    describe_options,
    describe_outcome,
    describe_versions,
    direction,
    format_detectable,
    format_input,
    format_ms,
    format_p,
    format_rate,
    format_ratio,
    format_seconds,
    metric_label,
    row_verdict,
)
from .report import RunReport
from .statistics import ALPHA

__all__ = ["print_comparison", "print_report"]

_LATENCY_COLUMNS = ("p50", "p90", "p95", "p99", "max")


def _console(stream: TextIO) -> Console:
    return Console(file=stream, markup=False, emoji=False, highlight=False)


def _table(title: str, columns: Sequence[str], *, numeric: Collection[str]) -> Table:
    """Columns named in ``numeric`` are right-aligned."""
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for column in columns:
        table.add_column(column, justify="right" if column in numeric else "left")
    return table


def _print_table(console: Console, table: Table) -> None:
    console.line()
    console.print(table)


def _print_facts(console: Console, facts: list[tuple[str, str]]) -> None:
    """``name  value`` lines, left to the terminal to wrap (a file gets them whole)."""
    width = max(len(name) for name, _ in facts)
    for name, value in facts:
        console.print(f"{name:<{width}}  {value}", soft_wrap=True)


def print_report(report: RunReport, stream: TextIO) -> None:
    console = _console(stream)
    _print_facts(console, [("run", report.run_id), ("directory", describe_directories(report)),
                          ("started", report.started_at or "unknown"), ("options", describe_options(report)),
                          ("hubs", describe_hubs(report)), ("versions", describe_versions(report)),
                          ("cycles", describe_outcome(report)), ("end", describe_lifecycle(report))])
    for warning in report.warnings:
        console.print(f"warning: {warning}", soft_wrap=True)
    for note in report.notes:
        console.print(f"note: {note}", soft_wrap=True)

    latency = _table("latency (ms)", ["histogram", "count", *_LATENCY_COLUMNS], numeric=["count", *_LATENCY_COLUMNS])
    for name, stats in report.latency_ms.items():
        latency.add_row(metric_label(name), str(int(stats["count"])),
                        *(format_ms(stats[key]) for key in _LATENCY_COLUMNS))
    _print_table(console, latency)

    if report.failures:
        by_phase = _table("failures by phase", ["phase", "failed cycles"], numeric=["failed cycles"])
        for phase, count in report.failures_by_phase.items():
            by_phase.add_row(phase, str(count))
        if report.failures_outside_phases:
            by_phase.add_row("(outside the phases)", str(report.failures_outside_phases))
        _print_table(console, by_phase)
        errors = _table("errors of failed cycles", ["cycles", "error"], numeric=["cycles"])
        for error, count in report.errors:
            errors.add_row(str(count), error)
        _print_table(console, errors)

    if report.alerts:
        alerts = _table("alerts", ["rule", "count", "last message"], numeric=["count"])
        for alert in report.alerts:
            alerts.add_row(alert.rule, str(alert.count), alert.last_message)
        _print_table(console, alerts)
    else:
        console.print("\nalerts: none")

    if report.faults:
        # Verdicts as recovered/failed-safe/damaged in one column: the table fits 80 columns.
        counts = ["acted", "skipped", "r/fs/d", "undo failed", "TTR p50", "TTR p95"]
        faults = _table("injected faults (r/fs/d: recovered/failed-safe/damaged cycles they acted in; "
                        "TTR: time to recovery, s)", ["scenario", *counts], numeric=counts)
        faults.columns[0].no_wrap = True
        for fault in report.faults:
            ttr = report.latency_ms.get(f"fault.{fault.scenario}") or {}
            faults.add_row(fault.scenario, str(fault.injected), str(fault.skipped + fault.not_injected),
                           f"{fault.recovered}/{fault.failed_safe}/{fault.damaged}", str(fault.roll_back_failed),
                           *(f"{ttr[p] / 1000:.2f}" if p in ttr else "-" for p in ("p50", "p95")))
        _print_table(console, faults)

    if not report.cycles:
        console.print("\ncycles: none ended")
        return
    slowest = _table("slowest cycles", ["cycle", "direction", "duration (s)", "result"], numeric=["duration (s)"])
    for row in report.slowest_cycles():
        slowest.add_row(row.cycle_id, direction(row), format_seconds(row.duration_s),
                        "ok" if row.success else "FAILED")
    _print_table(console, slowest)

    cycles = _table("cycles", ["cycle", "direction", "result", "duration (s)", "error"], numeric=["duration (s)"])
    for row in report.cycles:
        cycles.add_row(row.cycle_id, direction(row), "ok" if row.success else "FAILED",
                       format_seconds(row.duration_s), row.error or "")
    _print_table(console, cycles)


def print_comparison(comparison: Comparison, stream: TextIO) -> None:
    console = _console(stream)
    baseline, candidate = comparison.baseline, comparison.candidate
    _print_facts(console, [
        ("baseline", f"{baseline.run_id}: {baseline.total_cycles} cycles, "
                     f"{format_rate(baseline.success_rate)} succeeded ({baseline.run_dir})"),
        ("candidate", f"{candidate.run_id}: {candidate.total_cycles} cycles, "
                      f"{format_rate(candidate.success_rate)} succeeded ({candidate.run_dir})")])
    for role, report in (("baseline", baseline), ("candidate", candidate)):
        for note in report.notes:
            console.print(f"note ({role}): {note}", soft_wrap=True)
    if comparison.input_differences:
        console.print("warning: the runs' inputs differ, so their timings are not comparable: " + "; ".join(
            f"{d.name} {format_input(d.baseline)} vs {format_input(d.candidate)}"
            for d in comparison.input_differences), soft_wrap=True)

    table = _table("latency (ms)", ["histogram", "pct", "baseline", "candidate", "ratio", "p", "detectable", ""],
                   numeric=["baseline", "candidate", "ratio", "p", "detectable"])
    for row in comparison.rows:
        test = comparison.tests[row.metric]
        first = row.percentile == COMPARED_PERCENTILES[0]
        table.add_row(metric_label(row.metric), row.percentile, format_ms(row.baseline_ms),
                      format_ms(row.candidate_ms), format_ratio(row.ratio),
                      format_p(test.p_value) if first else "",
                      format_detectable(test.detectable_ratio) if first else "", row_verdict(row))
    _print_table(console, table)

    console.line()
    console.print(f"p: Mann-Whitney U on the per-cycle samples ({_sample_counts(comparison)}), Holm-adjusted; "
                  "detectable: the slowdown these cycle counts catch 80 % of the time; "
                  "n too small: the percentile is shown but does not gate", soft_wrap=True)
    rule = (f"candidate/baseline > {comparison.threshold:g}, more than {comparison.min_delta_ms:g} ms apart "
            f"and p < {ALPHA:g}")
    regressed = [f"{metric_label(row.metric)} {row.percentile} "
                 f"(p = {format_p(comparison.tests[row.metric].p_value)})" for row in comparison.regressions]
    if comparison.success_rate_dropped:
        regressed.append(f"success rate {format_rate(baseline.success_rate)} -> {format_rate(candidate.success_rate)}")
    if comparison.improvements:
        console.print("improvements: " + ", ".join(
            f"{metric_label(row.metric)} {row.percentile} (p = {format_p(comparison.tests[row.metric].p_value)})"
            for row in comparison.improvements), soft_wrap=True)
    if regressed:
        console.print(f"regressions ({rule}): {', '.join(regressed)}", soft_wrap=True)
    else:
        console.print(f"no regressions ({rule})", soft_wrap=True)


def _sample_counts(comparison: Comparison) -> str:
    counts = {(test.baseline_samples, test.candidate_samples) for test in comparison.tests.values()
              if test.metric.startswith("phase.")}
    if len(counts) == 1:
        before, after = counts.pop()
        return f"{before} vs {after} cycles"
    return "one sample per cycle"
