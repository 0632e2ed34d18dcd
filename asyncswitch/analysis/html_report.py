"""The HTML renderings of a RunReport and of a Comparison: one self-contained file each (inline CSS,
plots as inline SVG, no script, no external asset), every string escaped on its way in, written
atomically. Every part is a <section> with an id, every plot a <figure class="plot">."""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

from ..errors import ConfigError
from ..files import write_atomic
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
from .report import CycleRow, RunReport

__all__ = ["render_comparison_html", "render_html", "write_comparison_html", "write_html"]

_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 75em; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.8em; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
table.facts th { background: none; border: none; padding-left: 0; }
table.facts td { border: none; }
tr.failed td { background: #fdecea; }
.verdict { font-size: 1.1em; font-weight: bold; }
.verdict.ok { color: #1b6e2a; } .verdict.failed { color: #a11; }
.note { color: #7a5b00; } .warning { color: #a11; }
figure.plot { margin: .5em 0 1.5em; } figure.plot svg { max-width: 100%; height: auto; display: block; }
figure.plot figcaption { color: #555; font-size: .9em; }
tr.regression td { background: #fdecea; } tr.improvement td { background: #e8f5e9; }
.side-by-side { display: grid; grid-template-columns: 1fr 1fr; gap: 1.5em; }
"""

Row = Sequence[str]


def _table(headers: Row, rows: Sequence[Row], *, text_columns: frozenset[int] = frozenset({0}),
           failed: Sequence[bool] = ()) -> str:
    """A table whose cells are escaped here; columns not in ``text_columns`` are right-aligned numbers."""
    head = "".join(f"<th>{html.escape(header)}</th>" for header in headers)
    body = []
    for index, row in enumerate(rows):
        css = ' class="failed"' if index < len(failed) and failed[index] else ""
        cells = "".join(f"<td>{html.escape(cell)}</td>" if column in text_columns
                        else f'<td class="number">{html.escape(cell)}</td>' for column, cell in enumerate(row))
        body.append(f"<tr{css}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _section(title: str, content: str, *, id: str) -> str:
    return f'<section id="{id}">\n<h2>{html.escape(title)}</h2>\n{content}\n</section>\n'


def _plot(name: str, svg: str | None, caption: str) -> str:
    """A plot made here (matplotlib's SVG, no string from the artifacts unescaped) and its caption."""
    if svg is None:
        return f'<p class="no-plot" id="plot-{name}">nothing to plot</p>'
    return f'<figure class="plot" id="plot-{name}">{svg}<figcaption>{html.escape(caption)}</figcaption></figure>'


def _page(title: str, body: list[str]) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n"
            "<body>\n" + "\n".join(body) + "\n</body>\n</html>\n")


def _notes(report: RunReport, prefix: str = "") -> list[str]:
    return [*(f'<p class="warning">warning: {html.escape(prefix + warning)}</p>' for warning in report.warnings),
            *(f'<p class="note">note: {html.escape(prefix + note)}</p>' for note in report.notes)]


def _cycle_table(rows: Sequence[CycleRow], *, with_error: bool) -> str:
    headers = ["cycle", "direction", "result", "duration (s)", *(["error"] if with_error else [])]
    cells = [[row.cycle_id, direction(row), "ok" if row.success else "FAILED", format_seconds(row.duration_s),
              *([row.error or ""] if with_error else [])] for row in rows]
    return _table(headers, cells, text_columns=frozenset({0, 1, 2, 4}), failed=[not row.success for row in rows])


def _latency_table(report: RunReport) -> str:
    return _table(["histogram", "count", "p50", "p90", "p95", "p99", "max"],
                  [[metric_label(name), str(int(stats["count"])),
                    *(format_ms(stats[key]) for key in ("p50", "p90", "p95", "p99", "max"))]
                   for name, stats in report.latency_ms.items()])


def render_html(report: RunReport) -> str:
    from . import plots  # imported here: matplotlib takes half a second to import, `run` needs none of it

    facts = [("directory", describe_directories(report)), ("started", report.started_at or "unknown"),
             ("options", describe_options(report)), ("hubs", describe_hubs(report)),
             ("versions", describe_versions(report)), ("cycles", describe_outcome(report)),
             ("end", describe_lifecycle(report))]
    verdict = "ok" if report.all_succeeded else "failed"
    parts = [
        f"<h1>asyncswitch run {html.escape(report.run_id)}</h1>",
        f'<section id="summary">\n<p class="verdict {verdict}">{report.successes}/{report.total_cycles} cycles '
        f"succeeded ({format_rate(report.success_rate)})</p>",
        '<table class="facts">' + "".join(f"<tr><th>{html.escape(name)}</th><td>{html.escape(value)}</td></tr>"
                                          for name, value in facts) + "</table>",
        *_notes(report), "</section>",
        _section("Where the time went: durations per phase", _plot(
            "phases", plots.phase_distributions([(report.run_id, report)]),
            "Each phase's duration in every cycle (dots) and their spread (box: quartiles, whiskers: 1.5 IQR)."),
            id="phases"),
        _section("Timeline of the cycles", _plot(
            "timeline", plots.timeline(report),
            "Every cycle's phases in time; a failed phase is hatched and outlined in red; red lines are alerts, dark "
            "triangles injected faults."), id="timeline"),
        _section("How the fleet came back", _plot(
            "reconnect", plots.reconnect_curves(report),
            "Share of the managed clusters available on the new hub against the seconds since the activation "
            "started, one line per cycle."), id="reconnect"),
        _section("Latency (ms)", _latency_table(report) + _plot(
            "percentiles", plots.percentile_curves([(report.run_id, report)]),
            "Latency by percentile, from the HDR histograms (p99 of a few cycles is their slowest)."),
            id="latency"),
    ]
    if report.failures:
        by_phase = [[phase, str(count)] for phase, count in report.failures_by_phase.items()]
        if report.failures_outside_phases:
            by_phase.append(["(outside the phases)", str(report.failures_outside_phases)])
        parts.append(_section("Failed cycles by phase", _table(["phase", "cycles"], by_phase), id="failures"))
        parts.append(_section("Errors of failed cycles", _table(
            ["error", "cycles"], [[error, str(count)] for error, count in report.errors]), id="errors"))
    parts.append(_section("Alerts", _table(
        ["rule", "count", "last message"],
        [[alert.rule, str(alert.count), alert.last_message] for alert in report.alerts],
        text_columns=frozenset({0, 2})) if report.alerts else "<p>none</p>", id="alerts"))
    if report.faults:
        parts.append(_section("Injected faults", _table(
            ["scenario", "injected", "skipped", "recovered", "failed-safe", "damaged", "roll-back failed",
             "recovery p50 (s)", "recovery p95 (s)"],
            [[fault.scenario, str(fault.injected), str(fault.skipped + fault.not_injected), str(fault.recovered),
              str(fault.failed_safe), str(fault.damaged), str(fault.roll_back_failed),
              *(f"{ttr[p] / 1000:.3f}" if p in ttr else "-" for p in ("p50", "p95"))]
             for fault in report.faults
             for ttr in [report.latency_ms.get(f"fault.{fault.scenario}") or {}]]), id="faults"))
    parts.append(_section("Slowest cycles", _cycle_table(report.slowest_cycles(), with_error=False), id="slowest"))
    parts.append(_section("Cycles", _cycle_table(report.cycles, with_error=True), id="cycles"))
    return _page(f"asyncswitch run {report.run_id}", parts)


def render_comparison_html(comparison: Comparison) -> str:
    from . import plots  # see render_html

    baseline, candidate = comparison.baseline, comparison.candidate
    runs = [("baseline", baseline), ("candidate", candidate)]
    rows, css = [], []
    for row in comparison.rows:
        test = comparison.tests[row.metric]
        first = row.percentile == COMPARED_PERCENTILES[0]
        rows.append([metric_label(row.metric), row.percentile, format_ms(row.baseline_ms), format_ms(row.candidate_ms),
                     format_ratio(row.ratio), format_p(test.p_value) if first else "",
                     format_detectable(test.detectable_ratio) if first else "", row_verdict(row)])
        css.append(row.regression)
    regressed = comparison.regressed
    parts = [
        f"<h1>asyncswitch compare {html.escape(baseline.run_id)} → {html.escape(candidate.run_id)}</h1>",
        '<section id="summary">',
        f'<p class="verdict {"failed" if regressed else "ok"}">'
        f"{'regressed' if regressed else 'no regression'} (candidate/baseline > {comparison.threshold:g}, "
        f"more than {comparison.min_delta_ms:g} ms apart and p &lt; 0.05)</p>",
        '<table class="facts">' + "".join(
            f"<tr><th>{role}</th><td>{html.escape(report.run_id)}: {report.total_cycles} cycles, "
            f"{html.escape(format_rate(report.success_rate))} succeeded ({html.escape(describe_directories(report))})"
            "</td></tr>" for role, report in runs) + "</table>",
        *(f'<p class="warning">warning: the runs\' inputs differ, so their timings are not comparable: '
          f"{html.escape(d.name)} {html.escape(format_input(d.baseline))} vs "
          f"{html.escape(format_input(d.candidate))}</p>" for d in comparison.input_differences),
        *_notes(baseline, "baseline: "), *_notes(candidate, "candidate: "), "</section>",
        _section("Latency (ms)", _table(
            ["histogram", "pct", "baseline", "candidate", "ratio", "p", "detectable", ""], rows,
            text_columns=frozenset({0, 1, 7}), failed=css)
            + "<p>p: Mann-Whitney U on the per-cycle samples, Holm-adjusted over the metrics; detectable: the "
              "slowdown these cycle counts catch 80 % of the time; a percentile with too few "
              "samples is shown but does not gate.</p>", id="latency"),
        _section("Durations per phase, side by side", _plot(
            "phases", plots.phase_distributions(runs),
            "Each phase's duration in every cycle of the baseline and of the candidate."), id="phases"),
        _section("Percentile curves, side by side", _plot(
            "percentiles", plots.percentile_curves(runs),
            "Latency by percentile from the HDR histograms: baseline solid, candidate dashed."), id="percentiles"),
        _section("Timelines", '<div class="side-by-side">' + "".join(
            f"<div><h3>{role}</h3>"
            + _plot(f"timeline-{role}", plots.timeline(report), f"The {role}'s cycles in time.") + "</div>"
            for role, report in runs) + "</div>", id="timelines"),
        _section("How the fleet came back", '<div class="side-by-side">' + "".join(
            f"<div><h3>{role}</h3>"
            + _plot(f"reconnect-{role}", plots.reconnect_curves(report), f"The {role}'s reconnect curves.")
            + "</div>" for role, report in runs) + "</div>", id="reconnect"),
    ]
    return _page(f"asyncswitch compare {baseline.run_id} {candidate.run_id}", parts)


def write_comparison_html(comparison: Comparison, path: Path) -> None:
    """Write the comparison's page to ``path`` atomically."""
    try:
        write_atomic(path, render_comparison_html(comparison).encode())
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None


def write_html(report: RunReport, path: Path) -> None:
    """Write the report to ``path`` atomically (a reader never sees half a file)."""
    try:
        write_atomic(path, render_html(report).encode())
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
