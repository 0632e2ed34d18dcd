"""The HTML reports as a person sees them: opened in a real headless Chromium, with nothing on the
console, every section and plot drawn, and a screenshot kept beside the test's files."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest

from .browser import chromium_or_skip, chromium_page
from .support import Timed, asyncswitch

RUN_SECTIONS = ["summary", "phases", "timeline", "reconnect", "latency", "alerts", "faults", "slowest", "cycles"]
RUN_PLOTS = ["plot-phases", "plot-timeline", "plot-reconnect", "plot-percentiles"]
COMPARE_SECTIONS = ["summary", "latency", "phases", "percentiles", "timelines", "reconnect"]
COMPARE_PLOTS = ["plot-phases", "plot-percentiles", "plot-timeline-baseline", "plot-timeline-candidate",
                 "plot-reconnect-baseline", "plot-reconnect-candidate"]

DRAWN = """[...document.querySelectorAll('figure.plot')].map(figure => {
    const svg = figure.querySelector('svg'), box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
    return {id: figure.id, width: box.width, height: box.height,
            shapes: svg ? svg.querySelectorAll('path, rect, use').length : 0,
            text: svg ? svg.textContent : ''};
})"""


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def check_page(page_path: Path, screenshot: Path, sections: list[str],
               plots: list[str]) -> dict[str, dict[str, Any]]:
    """Open the page; assert a clean console, the sections and every plot drawn; return the plots."""
    binary = chromium_or_skip()
    with chromium_page(binary) as page:
        page.open(page_path)
        found_sections = page.evaluate("[...document.querySelectorAll('section')].map(s => s.id)")
        drawn = {plot["id"]: plot for plot in page.evaluate(DRAWN)}
        missing = page.evaluate("[...document.querySelectorAll('.no-plot')].map(p => p.id)")
        page.screenshot(screenshot)
        errors = page.errors()
    assert errors == []
    assert found_sections == sections
    assert missing == []
    assert sorted(drawn) == sorted(plots)
    for plot in drawn.values():
        assert plot["width"] > 300, plot["id"]
        assert plot["height"] > 100, plot["id"]
        assert plot["shapes"] > 10, plot["id"]
    width, height = png_size(screenshot)
    assert width >= 1000
    assert height > 2000  # the whole page, not the window
    return drawn


def test_the_run_report_opens_in_chromium_without_console_errors_with_every_section_and_plot(
        faulted: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page_path = tmp_path / "report.html"
    assert asyncswitch(capsys, "analyze", faulted, "--html", page_path).code == 0

    drawn = check_page(page_path, tmp_path / "report.png", RUN_SECTIONS, RUN_PLOTS)

    timeline = str(drawn["plot-timeline"]["text"])
    assert "cycle-0003" in timeline
    assert "pause-backup" in timeline  # the injected faults are on it
    assert "preflight" in timeline


def test_the_comparison_opens_in_chromium_with_both_runs_side_by_side(
        timed: Timed, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page_path = tmp_path / "compare.html"
    assert asyncswitch(capsys, "compare", timed.seed_1, timed.slower_restores, "--html", page_path).code == 0

    drawn = check_page(page_path, tmp_path / "compare.png", COMPARE_SECTIONS, COMPARE_PLOTS)

    assert "baseline" in str(drawn["plot-phases"]["text"])
    assert "candidate" in str(drawn["plot-phases"]["text"])
