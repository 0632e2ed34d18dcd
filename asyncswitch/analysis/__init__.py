"""Analysis of finished (or killed) runs: ``analyze`` reports one run directory (or several, merged),
``compare`` sets two side by side. Everything here reads run directories and never changes them.

    report = load_report(Path("runs/run-..."))          # RunReport: counts, latencies, failures ...
    merged = load_reports([Path("runs/a"), Path("runs/b")])
    comparison = compare_reports(baseline, candidate)   # Comparison: percentiles, ratios, rank tests
"""

import importlib
from typing import Any

from .compare import DEFAULT_MIN_DELTA_MS, DEFAULT_THRESHOLD, Comparison, compare_reports
from .html_report import render_comparison_html, render_html, write_comparison_html, write_html
from .merge import load_reports, merge_reports
from .report import RunReport, load_report
from .text import print_comparison, print_report

__all__ = ["DEFAULT_MIN_DELTA_MS", "DEFAULT_THRESHOLD", "Comparison", "RunReport", "compare_reports", "load_report",
           "load_reports", "merge_reports", "print_comparison", "print_report", "render_comparison_html",
           "render_html", "render_openmetrics", "write_comparison_html", "write_html", "write_junit",
           "write_openmetrics"]

# The JUnit and OpenMetrics writers load their libraries (junitparser, prometheus_client) when first
# asked for, not with the command line that every run starts.
_LAZY = {"write_junit": ".junit", "render_openmetrics": ".openmetrics", "write_openmetrics": ".openmetrics"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
