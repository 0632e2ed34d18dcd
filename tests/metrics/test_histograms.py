"""The HDR collector: what it measures from the engine's events, and histograms that survive a
save and load (a resumed run) and merge across runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from hdrh.histogram import HdrHistogram

from asyncswitch.engine import EngineEvent
from asyncswitch.metrics import HdrCollector, percentiles
from asyncswitch.metrics.histograms import new_histogram


def phase_result(phase: str, seconds: float, outcome: str = "succeeded") -> EngineEvent:
    return EngineEvent("phase_result", "r", "cycle-0001", {"phase": phase, "outcome": outcome, "duration_s": seconds})


def cycle_end(seconds: float, *, success: bool = True) -> EngineEvent:
    return EngineEvent("cycle_end", "r", "cycle-0001", {"success": success, "duration_s": seconds})


def test_the_collector_measures_succeeded_phases_cycles_and_reconnects_in_milliseconds() -> None:
    collector = HdrCollector()
    for event in (phase_result("activation", 0.25), phase_result("activation", 0.75),
                  phase_result("activation", 30.0, outcome="failed"), cycle_end(2.5), cycle_end(9.0, success=False),
                  EngineEvent("cluster_reconnected", "r", "cycle-0001", {"hub": "hub-b", "seconds": 1.2}),
                  EngineEvent("watch_event", "r", "cycle-0001", {"hub": "hub-b"})):
        collector.consume(event)

    summary = collector.summary()
    assert sorted(summary) == ["cluster.reconnect", "cycle", "cycle.succeeded", "phase.activation"]
    assert summary["phase.activation"]["count"] == 2  # a failed phase's duration is not a phase latency
    assert summary["phase.activation"]["max"] == pytest.approx(750, rel=1e-3)
    assert (summary["cycle"]["count"], summary["cycle.succeeded"]["count"]) == (2, 1)
    assert summary["cluster.reconnect"]["p50"] == pytest.approx(1200, rel=1e-3)


def test_saved_histograms_decode_load_into_a_resumed_collector_and_keep_counting(tmp_path: Path) -> None:
    first = HdrCollector()
    for seconds in (1.0, 2.0, 3.0):
        first.consume(cycle_end(seconds))
    first.save(tmp_path)

    decoded = HdrHistogram.decode((tmp_path / "cycle.hdr").read_bytes())
    assert decoded.get_total_count() == 3
    resumed = HdrCollector()
    resumed.load(tmp_path)
    resumed.consume(cycle_end(4.0))
    resumed.save(tmp_path)

    stats = percentiles(HdrHistogram.decode((tmp_path / "cycle.hdr").read_bytes()))
    assert stats["count"] == 4
    assert stats["min"] == pytest.approx(1000, rel=1e-3)
    assert stats["max"] == pytest.approx(4000, rel=1e-3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cycle.hdr", "cycle.succeeded.hdr"]  # no temp files left


def test_histograms_of_two_runs_merge_into_one(tmp_path: Path) -> None:
    runs = []
    for number, seconds in enumerate((0.1, 0.2), 1):
        collector = HdrCollector()
        collector.consume(phase_result("preflight", seconds))
        collector.save(tmp_path / f"run-{number}")
        runs.append((tmp_path / f"run-{number}" / "phase.preflight.hdr").read_bytes())

    merged = HdrHistogram.decode(runs[0])
    merged.decode_and_add(runs[1])

    assert merged.get_total_count() == 2
    assert merged.get_min_value() == pytest.approx(100, rel=1e-3)
    assert merged.get_max_value() == pytest.approx(200, rel=1e-3)


def test_an_empty_histogram_reports_only_its_count() -> None:
    assert percentiles(HdrHistogram(1, 1000, 3)) == {"count": 0}


@pytest.mark.parametrize("values", [[1], [1, 2, 3], [999, 2049, 123_456, 7 * 24 * 3600 * 1000],
                                    list(range(1, 5000, 7))])
def test_the_reported_mean_is_the_one_hdrhistogram_computes(values: list[int]) -> None:
    histogram = new_histogram()
    for value in values:
        histogram.record_value(value)

    assert percentiles(histogram)["mean"] == histogram.get_mean_value()


def test_reactions_are_recorded_in_microseconds_and_reported_in_milliseconds(tmp_path: Path) -> None:
    collector = HdrCollector()
    for seconds in (0.0004, 0.0012, 0.0025, -0.0001):  # a negative time (clock jitter) counts as the least
        collector.consume(EngineEvent("reaction", "run-1", "cycle-0001", {"seconds": seconds}))

    stats = collector.summary()["reaction"]
    assert (stats["count"], stats["min"]) == (4, 0.001)
    assert (stats["p50"], stats["max"]) == (pytest.approx(0.4, rel=1e-3), pytest.approx(2.5, rel=1e-3))
    collector.save(tmp_path)
    resumed = HdrCollector()
    resumed.load(tmp_path)
    assert resumed.summary()["reaction"] == stats
