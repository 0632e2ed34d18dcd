"""``python -m asyncswitch compare BASELINE CANDIDATE``: percentiles side by side, and regressions
flagged only when both the ratio and the absolute difference say so."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .support import Output, Runs, asyncswitch, copy_run, edit_json, rewrite_histogram, scaled


def compare(capsys: pytest.CaptureFixture[str], baseline: Path, candidate: Path, *options: str) -> Output:
    return asyncswitch(capsys, "compare", baseline, candidate, *options)


def flagged(document: dict[str, Any]) -> list[tuple[str, str]]:
    return [(row["metric"], row["percentile"]) for row in document["percentiles"] if row["regression"]]


def test_a_run_compared_with_itself_flags_nothing(runs: Runs, capsys: pytest.CaptureFixture[str]) -> None:
    text = compare(capsys, runs.passed, runs.passed, "--check-regressions")
    document = compare(capsys, runs.passed, runs.passed, "--json").json()

    assert text.code == 0
    assert "warning" not in text.out
    assert "no regressions (candidate/baseline > 1.2 and more than 5 ms slower)" in text.out
    assert flagged(document) == []
    assert {row["ratio"] for row in document["percentiles"]} == {1.0}
    assert {row["metric"] for row in document["percentiles"]} == {
        "phase.preflight", "phase.primary_preparation", "phase.activation", "phase.post_activation_verification",
        "phase.finalization", "cycle", "cluster.reconnect", "reaction"}
    assert (document["success_rate_dropped"], document["regressed"], document["input_differences"]) == (
        False, False, [])


def test_an_activation_three_times_slower_is_a_regression_that_fails_only_a_check(
        runs: Runs, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    candidate = copy_run(runs.passed, tmp_path)
    rewrite_histogram(candidate / "histograms" / "phase.activation.hdr", scaled(3))

    document = compare(capsys, runs.passed, candidate, "--json").json()
    report = compare(capsys, runs.passed, candidate)
    check = compare(capsys, runs.passed, candidate, "--check-regressions")

    assert flagged(document) == [("phase.activation", "p50"), ("phase.activation", "p95"),
                                 ("phase.activation", "p99")]
    assert all(row["ratio"] == pytest.approx(3, rel=0.01) for row in document["percentiles"]
               if row["metric"] == "phase.activation")
    assert (report.code, check.code) == (0, 1)
    assert "REGRESSION" in report.out
    assert "regressions (candidate/baseline > 1.2 and more than 5 ms slower): activation p50, activation p95, " \
           "activation p99" in report.out


def test_a_slowdown_of_a_few_milliseconds_is_under_the_floor_whatever_its_ratio(
        runs: Runs, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Reactions are recorded in microseconds: 2 ms in the baseline, 4 ms in the candidate.
    baseline, candidate = copy_run(runs.passed, tmp_path / "baseline"), copy_run(runs.passed, tmp_path / "candidate")
    rewrite_histogram(baseline / "histograms" / "reaction.hdr", lambda old: [(2000, 10)])
    rewrite_histogram(candidate / "histograms" / "reaction.hdr", lambda old: [(4000, 10)])

    default = compare(capsys, baseline, candidate, "--json", "--check-regressions")
    low_floor = compare(capsys, baseline, candidate, "--json", "--check-regressions", "--min-delta-ms", "1")

    reaction = [row for row in default.json()["percentiles"] if row["metric"] == "reaction"]
    assert [(row["baseline_ms"], row["candidate_ms"]) for row in reaction] == [(2.0, pytest.approx(4.0, rel=1e-3))] * 3
    assert (default.code, flagged(default.json())) == (0, [])
    assert (low_floor.code, flagged(low_floor.json())) == (1, [("reaction", "p50"), ("reaction", "p95"),
                                                               ("reaction", "p99")])


def test_a_lower_success_rate_is_a_regression(runs: Runs, capsys: pytest.CaptureFixture[str]) -> None:
    worse = compare(capsys, runs.passed, runs.failed, "--check-regressions")
    better = compare(capsys, runs.failed, runs.passed, "--json").json()

    assert worse.code == 1
    assert "success rate 100.0 % -> 50.0 %" in worse.out
    assert better["success_rate_dropped"] is False


def test_runs_with_different_inputs_are_compared_with_a_warning(runs: Runs, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    candidate = copy_run(runs.passed, tmp_path)

    def bigger_fleet_full_method(manifest: dict[str, Any]) -> None:
        manifest["inputs"].update(method="full", sim_clusters=20, cycles=50, output_dir="/elsewhere")

    edit_json(candidate / "manifest.json", bigger_fleet_full_method)

    result = compare(capsys, runs.passed, candidate, "--check-regressions")
    document = compare(capsys, runs.passed, candidate, "--json").json()

    assert result.code == 0  # a warning, not a failed check
    warnings = [line for line in result.out.splitlines() if line.startswith("warning:")]
    assert warnings == ["warning: the runs' inputs differ, so their timings are not comparable: "
                        "method passive vs full; sim_clusters 5 vs 20"]
    assert document["input_differences"] == [{"name": "method", "baseline": "passive", "candidate": "full"},
                                             {"name": "sim_clusters", "baseline": 5, "candidate": 20}]


@pytest.mark.parametrize(("options", "says"), [(["--threshold", "0.9"], "--threshold must be at least 1.0"),
                                               (["--min-delta-ms", "-1"], "--min-delta-ms must not be negative"),
                                               (["--threshold", "fast"], "invalid float value")])
def test_bad_compare_options_are_one_line_and_exit_code_2(runs: Runs, capsys: pytest.CaptureFixture[str],
                                                          options: list[str], says: str) -> None:
    result = compare(capsys, runs.passed, runs.passed, *options)

    assert result.code == 2
    assert result.err.startswith("error: ")
    assert says in result.err
    assert result.err.count("\n") == 1


def test_a_missing_candidate_is_exit_code_2(runs: Runs, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = compare(capsys, runs.passed, tmp_path / "nope", "--check-regressions")

    assert result.code == 2
    assert result.err == f"error: {tmp_path / 'nope'}: no such directory\n"
