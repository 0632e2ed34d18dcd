"""The HTML rendering of a RunReport: one self-contained file (inline CSS, no script, no external
asset), every string escaped on its way in, written atomically."""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

from ..errors import ConfigError
from ..files import write_atomic
from .formatting import (
    describe_hubs,
    describe_lifecycle,
    describe_options,
    describe_outcome,
    describe_versions,
    direction,
    format_ms,
    format_rate,
    format_seconds,
    metric_label,
)
from .report import CycleRow, RunReport

__all__ = ["render_html", "write_html"]

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
.note { color: #7a5b00; }
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


def _section(title: str, content: str) -> str:
    return f"<h2>{html.escape(title)}</h2>\n{content}\n"


def _cycle_table(rows: Sequence[CycleRow], *, with_error: bool) -> str:
    headers = ["cycle", "direction", "result", "duration (s)", *(["error"] if with_error else [])]
    cells = [[row.cycle_id, direction(row), "ok" if row.success else "FAILED", format_seconds(row.duration_s),
              *([row.error or ""] if with_error else [])] for row in rows]
    return _table(headers, cells, text_columns=frozenset({0, 1, 2, 4}), failed=[not row.success for row in rows])


def render_html(report: RunReport) -> str:
    facts = [("directory", str(report.run_dir)), ("started", report.started_at or "unknown"),
             ("options", describe_options(report)), ("hubs", describe_hubs(report)),
             ("versions", describe_versions(report)), ("cycles", describe_outcome(report)),
             ("end", describe_lifecycle(report))]
    verdict = "ok" if report.all_succeeded else "failed"
    parts = [
        f"<h1>asyncswitch run {html.escape(report.run_id)}</h1>",
        f'<p class="verdict {verdict}">{report.successes}/{report.total_cycles} cycles succeeded '
        f"({format_rate(report.success_rate)})</p>",
        '<table class="facts">' + "".join(f"<tr><th>{html.escape(name)}</th><td>{html.escape(value)}</td></tr>"
                                          for name, value in facts) + "</table>",
        *(f'<p class="note">note: {html.escape(note)}</p>' for note in report.notes),
        _section("Latency (ms)", _table(
            ["histogram", "count", "p50", "p90", "p95", "p99", "max"],
            [[metric_label(name), str(int(stats["count"])),
              *(format_ms(stats[key]) for key in ("p50", "p90", "p95", "p99", "max"))]
             for name, stats in report.latency_ms.items()])),
    ]
    if report.failures:
        by_phase = [[phase, str(count)] for phase, count in report.failures_by_phase.items()]
        if report.failures_outside_phases:
            by_phase.append(["(outside the phases)", str(report.failures_outside_phases)])
        parts.append(_section("Failed cycles by phase", _table(["phase", "cycles"], by_phase)))
        parts.append(_section("Errors of failed cycles", _table(
            ["error", "cycles"], [[error, str(count)] for error, count in report.errors])))
    parts.append(_section("Alerts", _table(
        ["rule", "count", "last message"],
        [[alert.rule, str(alert.count), alert.last_message] for alert in report.alerts],
        text_columns=frozenset({0, 2})) if report.alerts else "<p>none</p>"))
    if report.faults:
        parts.append(_section("Injected faults", _table(
            ["scenario", "injected", "not injected", "rolled back", "roll-back failed"],
            [[fault.scenario, str(fault.injected), str(fault.not_injected), str(fault.rolled_back),
              str(fault.roll_back_failed)] for fault in report.faults])))
    parts.append(_section("Slowest cycles", _cycle_table(report.slowest_cycles(), with_error=False)))
    parts.append(_section("Cycles", _cycle_table(report.cycles, with_error=True)))
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>asyncswitch run {html.escape(report.run_id)}</title>\n<style>{_STYLE}</style>\n</head>\n"
            "<body>\n" + "\n".join(parts) + "\n</body>\n</html>\n")


def write_html(report: RunReport, path: Path) -> None:
    """Write the report to ``path`` atomically (a reader never sees half a file)."""
    try:
        write_atomic(path, render_html(report).encode())
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
