"""``python -m asyncswitch compare BASELINE CANDIDATE``: percentiles side by side, and regressions
flagged only when both the ratio and the absolute difference say so."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .support import Output, Runs, Timed, asyncswitch, copy_run, edit_json, rewrite_histogram, scaled

WIDE = "400"
"""COLUMNS for text output that a test reads: rich wraps table cells at the console width."""


def compare(capsys: pytest.CaptureFixture[str], baseline: Path, candidate: Path, *options: str) -> Output:
    return asyncswitch(capsys, "compare", baseline, candidate, *options)


def flagged(document: dict[str, Any]) -> list[tuple[str, str]]:
    return [(row["metric"], row["percentile"]) for row in document["percentiles"] if row["regression"]]


def improved(document: dict[str, Any]) -> list[tuple[str, str]]:
    return [(row["metric"], row["percentile"]) for row in document["percentiles"] if row["improvement"]]


def metric_tests(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {test["metric"]: test for test in document["tests"]}


def test_a_run_compared_with_itself_flags_nothing(runs: Runs, capsys: pytest.CaptureFixture[str]) -> None:
    text = compare(capsys, runs.passed, runs.passed, "--check-regressions")
    document = compare(capsys, runs.passed, runs.passed, "--json").json()

    assert text.code == 0
    assert "warning" not in text.out
    assert "no regressions (candidate/baseline > 1.2, more than 5 ms apart and p < 0.05)" in text.out
    assert flagged(document) == []
    assert {row["ratio"] for row in document["percentiles"]} == {1.0}
    assert {row["metric"] for row in document["percentiles"]} == {
        "phase.preflight", "phase.primary_preparation", "phase.activation", "phase.post_activation_verification",
        "phase.finalization", "cycle", "cluster.reconnect", "reaction"}
    assert (document["success_rate_dropped"], document["regressed"], document["input_differences"]) == (
        False, False, [])


def test_two_runs_that_differ_only_by_seed_flag_nothing(timed: Timed, capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", WIDE)
    check = compare(capsys, timed.seed_1, timed.seed_2, "--check-regressions")
    document = compare(capsys, timed.seed_1, timed.seed_2, "--json").json()

    assert check.code == 0
    assert "warning" not in check.out  # the seed is not an input that makes runs unlike
    assert "no regressions" in check.out
    assert flagged(document) == []
    assert improved(document) == []
    phases = metric_tests(document)
    assert phases["phase.activation"]["baseline_samples"] == phases["phase.activation"]["candidate_samples"] == 8


def test_slower_restores_are_flagged_in_the_finalization_with_their_p_value(
        timed: Timed, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    # Finalization waits for the old hub's new passive restore, whose Velero restores are what the knob
    # slows. (Activation is no gauge: it first waits out the old leases of clusters the new hub still
    # lists as Available, and a cycle that took longer to finalize leaves it less of that to wait.)
    monkeypatch.setenv("COLUMNS", WIDE)
    report = compare(capsys, timed.seed_1, timed.slower_restores)
    check = compare(capsys, timed.seed_1, timed.slower_restores, "--check-regressions")
    document = compare(capsys, timed.seed_1, timed.slower_restores, "--json").json()

    assert (report.code, check.code) == (0, 1)
    assert ("phase.finalization", "p50") in flagged(document)
    finalization = metric_tests(document)["phase.finalization"]
    assert finalization["p_value"] < 0.05
    assert finalization["significant"] is True
    assert ("phase.preflight", "p50") not in flagged(document)  # the restores come after it
    line = next(line for line in report.out.splitlines() if line.startswith("finalization ") and " p50 " in line)
    assert "REGRESSION" in line
    assert f"{finalization['p_value']:.2g}" in line
    regressions = next(line for line in report.out.splitlines() if line.startswith("regressions ("))
    assert f"finalization p50 (p = {finalization['p_value']:.2g})" in regressions


def test_percentiles_that_eight_cycles_cannot_support_are_shown_but_never_gate(
        timed: Timed, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", WIDE)
    document = compare(capsys, timed.seed_1, timed.slower_restores, "--json").json()
    text = compare(capsys, timed.seed_1, timed.slower_restores)

    activation = {row["percentile"]: row for row in document["percentiles"] if row["metric"] == "phase.activation"}
    assert activation["p50"]["supported"] is True
    for percentile in ("p95", "p99"):  # the 8th-fastest of 8: the slowest cycle
        assert activation[percentile]["supported"] is False
        assert activation[percentile]["regression"] is False
        assert activation[percentile]["candidate_ms"] is not None
    assert "n too small" in text.out


def test_the_improvement_of_faster_restores_is_flagged_and_is_no_regression(
        timed: Timed, capsys: pytest.CaptureFixture[str]) -> None:
    check = compare(capsys, timed.slower_restores, timed.seed_1, "--check-regressions")
    document = compare(capsys, timed.slower_restores, timed.seed_1, "--json").json()

    assert ("phase.finalization", "p50") in improved(document)
    assert [metric for metric, _ in flagged(document)].count("phase.finalization") == 0
    improvements = next(line for line in check.out.splitlines() if line.startswith("improvements: "))
    assert "finalization p50 (p = " in improvements
    # Only regressions fail the check. (Made side by side with a run that waits on its restores, the
    # faster run's own short phases can come out slower: that would be flagged, rightly.)
    assert check.code == (1 if flagged(document) else 0)


def test_each_phase_row_says_the_smallest_ratio_its_cycle_counts_could_detect(
        runs: Runs, timed: Timed, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", WIDE)
    eight = compare(capsys, timed.seed_1, timed.seed_2, "--json").json()
    two = compare(capsys, runs.passed, runs.failed, "--json").json()
    text = compare(capsys, runs.passed, runs.failed)

    for metric in ("phase.preflight", "phase.activation", "cycle"):
        ratio = metric_tests(eight)[metric]["detectable_ratio"]
        assert ratio is not None
        assert ratio > 1.0
    # Two cycles against one or two: no difference whatever could reach p < 0.05.
    assert {test["detectable_ratio"] for test in two["tests"]} == {None}
    preflight = next(line for line in text.out.splitlines() if line.startswith("preflight ") and " p50 " in line)
    assert "none" in preflight


def test_a_three_times_slower_activation_in_two_cycles_is_not_flagged(
        runs: Runs, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The histograms say 3x, but two cycles against two cannot tell a slowdown from a bad draw.
    candidate = copy_run(runs.passed, tmp_path)
    rewrite_histogram(candidate / "histograms" / "phase.activation.hdr", scaled(3))

    document = compare(capsys, runs.passed, candidate, "--json", "--check-regressions")

    assert document.code == 0
    assert all(row["ratio"] == pytest.approx(3, rel=0.01) for row in document.json()["percentiles"]
               if row["metric"] == "phase.activation")
    assert flagged(document.json()) == []


def test_a_slowdown_under_the_floor_is_not_flagged_whatever_its_p_value(timed: Timed,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    default = compare(capsys, timed.seed_1, timed.slower_restores, "--json", "--check-regressions")
    high_floor = compare(capsys, timed.seed_1, timed.slower_restores, "--json", "--check-regressions",
                         "--min-delta-ms", "100000")

    assert default.code == 1
    assert (high_floor.code, flagged(high_floor.json())) == (0, [])


def test_compare_html_puts_the_two_runs_side_by_side(timed: Timed, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    page_path = tmp_path / "compare.html"

    result = compare(capsys, timed.seed_1, timed.slower_restores, "--html", str(page_path))

    assert result.code == 0
    assert result.out.endswith(f"html report: {page_path}\n")
    page = page_path.read_text()
    assert timed.seed_1.name in page
    assert timed.slower_restores.name in page
    for plot in ("phases", "percentiles", "timeline-baseline", "timeline-candidate", "reconnect-baseline",
                 "reconnect-candidate"):
        assert f'<figure class="plot" id="plot-{plot}"><svg' in page
    assert "REGRESSION" in page


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
