"""Analysis of finished (or killed) runs: ``analyze`` reports one run directory, ``compare`` sets
two side by side. Everything here reads run directories and never changes them.

    report = load_report(Path("runs/run-..."))          # RunReport: counts, latencies, failures ...
    comparison = compare_reports(baseline, candidate)   # Comparison: percentiles, ratios, regressions
"""

from .compare import DEFAULT_MIN_DELTA_MS, DEFAULT_THRESHOLD, Comparison, compare_reports
from .html_report import render_html, write_html
from .report import RunReport, load_report
from .text import print_comparison, print_report

__all__ = ["DEFAULT_MIN_DELTA_MS", "DEFAULT_THRESHOLD", "Comparison", "RunReport", "compare_reports", "load_report",
           "print_comparison", "print_report", "render_html", "write_html"]
