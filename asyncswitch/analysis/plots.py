"""The plots of the HTML reports, drawn with matplotlib's object API (no pyplot, no global figure
state) and returned as inline SVG: text as <text> elements, no script, no external reference.

Each function takes one or more labelled reports (several: the runs of a comparison, side by side)
and returns an SVG document as a string, or None when the reports hold nothing to draw.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import matplotlib as mpl
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..config import PHASE_NAMES
from ..metrics.histograms import units_per_ms
from .report import RunReport, latency_order

__all__ = ["Labelled", "percentile_curves", "phase_distributions", "reconnect_curves", "timeline"]

Labelled = tuple[str, RunReport]
"""A report and the name it goes by in the legend (``baseline``, a run id ...)."""

_PHASE_COLOURS = dict(zip(PHASE_NAMES, ("#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2"), strict=True))
_RUN_COLOURS = ("#4e79a7", "#e15759", "#59a14f", "#f28e2b")
_PERCENTILES = (0.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.9, 99.99)
_WIDTH = 9.0
"""Inches; the page scales the SVG to its width."""


@contextmanager
def _style() -> Iterator[None]:
    """matplotlib reads its settings from rcParams: these hold only while a figure is made and saved."""
    with mpl.rc_context({"svg.fonttype": "none", "font.size": 9.0, "axes.spines.top": False,
                         "axes.spines.right": False}):
        yield


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    with _style():
        figure.savefig(buffer, format="svg")
    text = buffer.getvalue()
    return text[text.index("<svg"):]  # no XML declaration or DOCTYPE inside an HTML page


def _figure(height: float) -> Figure:
    with _style():
        return Figure(figsize=(_WIDTH, height), layout="constrained")


def _subplots(figure: Figure) -> Axes:
    with _style():
        return figure.add_subplot()


def _phase_metrics(reports: Sequence[Labelled]) -> list[str]:
    names = {name for _, report in reports for name in report.samples_ms
             if name.startswith("phase.") or name == "cycle"}
    return sorted(names, key=latency_order)


def phase_distributions(reports: Sequence[Labelled]) -> str | None:
    """Per-phase durations, one box (and its cycles as dots) per phase and run, on a log scale."""
    metrics = _phase_metrics(reports)
    if not metrics:
        return None
    figure = _figure(0.45 * len(metrics) * len(reports) + 1.2)
    axes = _subplots(figure)
    step = len(reports) + 1
    for index, (label, report) in enumerate(reports):
        colour = _RUN_COLOURS[index % len(_RUN_COLOURS)]
        positions = [position * step + index for position in range(len(metrics))]  # the first run on top
        data = [report.samples_ms.get(metric) or [float("nan")] for metric in metrics]
        axes.boxplot(data, positions=positions, orientation="horizontal", widths=0.7, showfliers=False,
                     patch_artist=True, boxprops={"facecolor": colour, "alpha": 0.25, "edgecolor": colour},
                     medianprops={"color": colour}, whiskerprops={"color": colour}, capprops={"color": colour},
                     label=label)
        for position, values in zip(positions, data, strict=True):
            axes.scatter(values, [position] * len(values), s=9, color=colour, alpha=0.8, zorder=3)
    axes.set_yticks([position * step + (len(reports) - 1) / 2 for position in range(len(metrics))],
                    [metric.removeprefix("phase.") for metric in metrics])
    axes.invert_yaxis()
    axes.set_xscale("log")
    axes.set_xlabel("duration per cycle (ms, log scale)")
    if len(reports) > 1:
        axes.legend(handles=[Patch(color=_RUN_COLOURS[i % len(_RUN_COLOURS)], alpha=0.6, label=label)
                             for i, (label, _) in enumerate(reports)], loc="lower right")
    return _svg(figure)


def timeline(report: RunReport) -> str | None:
    """Every cycle's phases against the time since the run's first cycle started, with alerts (red
    lines) and injected faults (dark triangles) on it."""
    if not report.spans:
        return None
    origin = report.spans[0].start
    figure = _figure(0.22 * len(report.spans) + 1.8)
    axes = _subplots(figure)
    for row, span in enumerate(report.spans):
        for phase in span.phases:
            axes.broken_barh([(phase.start - origin, max(phase.end - phase.start, 1e-3))], (row - 0.4, 0.8),
                             facecolors=_PHASE_COLOURS.get(phase.phase, "#999999"),
                             edgecolors="#c00000" if phase.outcome != "succeeded" else "none",
                             linewidth=1.5, hatch="//" if phase.outcome != "succeeded" else None)
        if span.success is False:
            axes.annotate("failed", (max((p.end for p in span.phases), default=span.start) - origin, row),
                          xytext=(4, 0), textcoords="offset points", va="center", color="#c00000", fontsize=8)
    labelled: set[tuple[str, str]] = set()
    for mark in report.marks:
        x = mark.ts - origin
        # Each alert rule and fault scenario is named once, at its first mark: 20 labels would overlap.
        label = mark.label if (mark.kind, mark.label) not in labelled else None
        labelled.add((mark.kind, mark.label))
        if mark.kind == "alert":
            axes.axvline(x, color="#c00000", linewidth=0.8, alpha=0.6)
            if label:
                axes.annotate(label, (x, -0.6), rotation=90, fontsize=7, color="#c00000", va="top", ha="right")
        else:
            axes.scatter([x], [-0.7], marker="v", s=40, color="#333333", zorder=4)
            if label:
                axes.annotate(label, (x, -0.9), fontsize=7, color="#333333", ha="left")
    axes.set_yticks(range(len(report.spans)), [span.cycle_id for span in report.spans])
    axes.set_ylim(len(report.spans) - 0.4, -1.2)
    axes.set_xlabel("seconds since the first cycle started")
    handles = [Patch(color=colour, label=phase) for phase, colour in _PHASE_COLOURS.items()]
    if any(mark.kind == "alert" for mark in report.marks):
        handles.append(Patch(color="#c00000", label="alert"))
    if any(mark.kind == "fault" for mark in report.marks):
        handles.append(Patch(color="#333333", label="injected fault"))
    figure.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 4), frameon=False)
    return _svg(figure)


def reconnect_curves(report: RunReport) -> str | None:
    """The share of the fleet back on the new hub against the seconds since the activation started,
    one line per cycle."""
    if not report.reconnects_s:
        return None
    fleet = report.fleet_size or max(len(values) for values in report.reconnects_s.values())
    figure = _figure(3.2)
    axes = _subplots(figure)
    colours = mpl.colormaps["viridis"].resampled(max(2, len(report.reconnects_s)))
    for index, (cycle, values) in enumerate(report.reconnects_s.items()):
        shares = [(count + 1) / fleet for count in range(len(values))]
        axes.step([0.0, *values], [0.0, *shares], where="post", color=colours(index), linewidth=1.2, alpha=0.85,
                  label=cycle)
    axes.set_ylim(0, 1.02)
    axes.set_xlim(left=0)
    axes.set_xlabel("seconds since the activation started")
    axes.set_ylabel(f"share of the {fleet} clusters back")
    if len(report.reconnects_s) <= 12:
        axes.legend(fontsize=7, loc="lower right")
    return _svg(figure)


def percentile_curves(reports: Sequence[Labelled]) -> str | None:
    """Latency by percentile from each phase's and the cycle's HDR histogram (a run per line style)."""
    names = sorted({name for _, report in reports for name in report.histograms
                    if (name.startswith("phase.") or name in ("cycle", "cluster.reconnect"))
                    and report.histograms[name].get_total_count()}, key=latency_order)
    if not names:
        return None
    figure = _figure(3.8)
    axes = _subplots(figure)
    colours = dict(zip(names, [*_PHASE_COLOURS.values(), "#333333", "#9c755f", "#bab0ac"], strict=False))
    styles = ("-", "--", ":", "-.")
    for index, (label, report) in enumerate(reports):
        for name in names:
            histogram = report.histograms.get(name)
            if histogram is None or not histogram.get_total_count():
                continue
            levels = [p for p in _PERCENTILES if p <= 100 * (1 - 1 / (histogram.get_total_count() + 1)) or p == 0]
            xs = [1 / (1 - p / 100) for p in levels]
            ys = [histogram.get_value_at_percentile(p) / units_per_ms(name) for p in levels]
            axes.plot(xs, ys, styles[index % len(styles)], marker=".", color=colours.get(name, "#777777"),
                      label=f"{name.removeprefix('phase.')}" + (f" ({label})" if len(reports) > 1 else ""))
    axes.set_xscale("log")
    axes.set_yscale("log")
    ticks = [p for p in _PERCENTILES if p > 0 and p < 99.99]
    axes.set_xticks([1 / (1 - p / 100) for p in ticks], [f"p{p:g}" for p in ticks])
    axes.minorticks_off()
    axes.set_xlabel("percentile")
    axes.set_ylabel("ms (log scale)")
    axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _svg(figure)
