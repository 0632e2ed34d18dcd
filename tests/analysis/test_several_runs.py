"""``analyze RUN_DIR...``: runs merged into one report, a run resumed twice, and partial data said."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from asyncswitch.metrics.histograms import percentiles, units_per_ms

from .support import Runs, Timed, asyncswitch, copy_run, decode, rewrite_histogram

WIDE = "400"


def test_two_runs_merged_add_their_counts_and_their_histograms_exactly(
        timed: Timed, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", WIDE)
    first = asyncswitch(capsys, "analyze", timed.seed_1, "--json").json()
    second = asyncswitch(capsys, "analyze", timed.seed_2, "--json").json()

    merged = asyncswitch(capsys, "analyze", timed.seed_1, timed.seed_2, "--json")
    text = asyncswitch(capsys, "analyze", timed.seed_1, timed.seed_2)

    assert (merged.code, text.code) == (0, 0)
    report = merged.json()
    assert (report["cycles"], report["successes"], report["failures"]) == (16, 16, 0)
    assert report["run_dirs"] == [str(timed.seed_1), str(timed.seed_2)]
    for name in ("phase.activation", "cycle", "cluster.reconnect", "reaction"):
        histogram = decode(timed.seed_1 / "histograms" / f"{name}.hdr")
        histogram.add(decode(timed.seed_2 / "histograms" / f"{name}.hdr"))
        assert report["latency_ms"][name] == percentiles(histogram, per_ms=units_per_ms(name))
        assert report["latency_ms"][name]["count"] == (first["latency_ms"][name]["count"]
                                                       + second["latency_ms"][name]["count"])
    ids = [cycle["cycle_id"] for cycle in report["cycle_results"]]
    assert ids[0] == f"{timed.seed_1.name}/cycle-0001"
    assert ids[-1] == f"{timed.seed_2.name}/cycle-0008"
    assert report["warnings"] == []  # the seed is not an option that makes runs unlike
    assert report["notes"][0] == "merged 2 runs: latencies from their added histograms, counts added up"
    assert f"run        {timed.seed_1.name} + {timed.seed_2.name}\n" in text.out
    assert "never resumed" in text.out


def test_runs_merged_with_different_options_are_merged_with_a_warning(
        runs: Runs, timed: Timed, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", WIDE)
    result = asyncswitch(capsys, "analyze", runs.passed, timed.seed_1)

    assert result.code == 0
    warnings = [line for line in result.out.splitlines() if line.startswith("warning:")]
    assert warnings == [f"warning: the merged runs' options differ, so their timings are not alike: "
                        f"{runs.passed.name} vs {timed.seed_1.name}: sim_profile instant vs fast"]
    assert "cycles     10 run, 10 succeeded" in result.out


def test_a_run_resumed_twice_counts_every_cycle_once_and_says_so(resumed: Path, capsys: pytest.CaptureFixture[str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", WIDE)
    report = asyncswitch(capsys, "analyze", resumed, "--json").json()
    text = asyncswitch(capsys, "analyze", resumed)

    assert text.code == 0
    assert (report["cycles"], report["successes"], report["process_starts"]) == (3, 3, 3)
    assert [cycle["cycle_id"] for cycle in report["cycle_results"]] == ["cycle-0001", "cycle-0002", "cycle-0003"]
    assert report["latency_ms"]["cycle"]["count"] == 3  # the histograms were carried over both resumes
    assert len(report["cycle_samples_ms"]["phase.activation"]) == 3
    assert "resumed 2 times; last process finished" in text.out
    assert "note: the run was resumed 2 times: its cycles come from 3 processes" in text.out


def test_histograms_missing_some_cycles_are_said(runs: Runs, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # A run from before cycle ends were committed with their histograms (run_state.json), killed between a
    # cycle's end record and the save of its histograms.
    monkeypatch.setenv("COLUMNS", WIDE)
    run_dir = copy_run(runs.passed, tmp_path)
    state = json.loads((run_dir / "run_state.json").read_text())
    del state["committed"]
    (run_dir / "run_state.json").write_text(json.dumps(state))
    rewrite_histogram(run_dir / "histograms" / "cycle.hdr", lambda old: [(old.get_max_value(), 1)])

    result = asyncswitch(capsys, "analyze", run_dir)

    assert result.code == 0
    assert "note: histograms/ holds 1 of the 2 cycles" in result.out


def test_a_run_still_going_says_which_cycle_is_in_flight(runs: Runs, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = copy_run(runs.passed, tmp_path)
    (run_dir / "summary.json").unlink()
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    start = json.loads(next(line for line in lines if '"type": "cycle_start"' in line))
    end = json.loads(next(line for line in reversed(lines) if '"type": "cycle_end"' in line))
    third = {**start, "ts": end["ts"] + 1, "cycle_id": "cycle-0003", "cycle": 3}
    with (run_dir / "metrics.jsonl").open("a") as fh:
        fh.write(json.dumps(third) + "\n")

    report = asyncswitch(capsys, "analyze", run_dir, "--json").json()

    assert (report["cycles"], report["interrupted"]) == (2, True)
    assert report["notes"][0].startswith("no summary.json: the run was killed or is still going")
    assert "cycle-0003 started and has not ended: the run is still going, or was killed during it" in " ".join(
        report["notes"])


def test_one_missing_run_among_several_is_exit_code_2(runs: Runs, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    result = asyncswitch(capsys, "analyze", runs.passed, tmp_path / "nope")

    assert result.code == 2
    assert result.err == f"error: {tmp_path / 'nope'}: no such directory\n"


def test_a_run_given_twice_is_exit_code_2_not_counted_twice(runs: Runs, capsys: pytest.CaptureFixture[str]) -> None:
    result = asyncswitch(capsys, "analyze", runs.passed, runs.passed / ".." / runs.passed.name)

    assert result.code == 2
    assert result.err.startswith("error: ")
    assert "is given more than once: its cycles would be counted twice" in result.err
    assert result.err.count("\n") == 1
