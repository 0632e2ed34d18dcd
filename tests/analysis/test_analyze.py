"""``python -m asyncswitch analyze RUN_DIR``: what a soak tester reads of a run, finished or killed."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from asyncswitch.metrics.histograms import percentiles, units_per_ms

from .support import Output, Runs, asyncswitch, copy_run, decode, edit_json, read_json

WIDE = "400"
"""COLUMNS for text output that a test reads: rich wraps table cells at the console width."""


def analyze(capsys: pytest.CaptureFixture[str], run_dir: Path, *options: str | Path) -> Output:
    return asyncswitch(capsys, "analyze", run_dir, *options)


def test_the_counts_and_success_rate_are_those_of_summary_json(runs: Runs, capsys: pytest.CaptureFixture[str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", WIDE)
    for run_dir, code, shown in ((runs.passed, 0, "2 run, 2 succeeded, 0 failed (100.0 % success)"),
                                 (runs.failed, 1, "2 run, 1 succeeded, 1 failed (50.0 % success)")):
        summary = read_json(run_dir / "summary.json")
        document = analyze(capsys, run_dir, "--json")
        text = analyze(capsys, run_dir)

        assert (document.code, text.code) == (code, code)
        report = document.json()
        assert report["run_id"] == summary["run_id"] == run_dir.name
        assert (report["cycles"], report["successes"], report["failures"], report["success_rate"]) == (
            summary["cycles"], summary["successes"], summary["failures"], summary["success_rate"])
        assert [c["cycle_id"] for c in report["cycle_results"]] == ["cycle-0001", "cycle-0002"]
        assert [(c["primary"], c["secondary"]) for c in report["cycle_results"]] == [
            (c["primary"], c["secondary"]) for c in summary["cycle_results"]]
        assert (report["stop_reason"], report["interrupted"], report["process_starts"]) == ("cycles done", False, 1)
        assert report["inputs"]["method"] == "passive"
        assert text.out.startswith(f"run        {summary['run_id']}\n")
        assert f"cycles     {shown}\n" in text.out
        assert "hub-a -> hub-b" in text.out


def test_the_reported_percentiles_are_those_of_the_merged_histograms(runs: Runs,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    report = analyze(capsys, runs.passed, "--json").json()

    files = sorted((runs.passed / "histograms").glob("*.hdr"))
    expected = {}
    for path in files:
        name = path.name.removesuffix(".hdr")
        expected[name] = percentiles(decode(path), per_ms=units_per_ms(name))
    assert report["latency_ms"] == expected
    # The engine summarised the same histograms at the end of the run: the two agree, and the
    # reaction histogram (microseconds) comes out in milliseconds like the rest.
    summary = read_json(runs.passed / "summary.json")
    assert {name: report["latency_ms"][f"phase.{name}"] for name in summary["phases_ms"]} == summary["phases_ms"]
    assert report["latency_ms"]["reaction"] == summary["reaction_ms"]
    assert report["latency_ms"]["cycle"]["count"] == 2
    assert list(report["latency_ms"])[:5] == ["phase.preflight", "phase.primary_preparation", "phase.activation",
                                              "phase.post_activation_verification", "phase.finalization"]


def test_a_run_with_a_failed_cycle_exits_1_and_says_which_phase_failed_and_why(
        runs: Runs, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", WIDE)
    error = read_json(runs.failed / "summary.json")["cycle_results"][1]["error"]
    assert "hub-a" in error

    document = analyze(capsys, runs.failed, "--json")
    text = analyze(capsys, runs.failed)

    assert (document.code, text.code) == (1, 1)
    report = document.json()
    assert report["failures_by_phase"] == {"preflight": 1}
    assert report["failures_outside_phases"] == 0
    assert report["errors"] == [{"error": error, "count": 1}]
    assert [(c["cycle_id"], c["success"], c["failed_phase"]) for c in report["cycle_results"]] == [
        ("cycle-0001", True, None), ("cycle-0002", False, "preflight")]
    assert "failures by phase" in text.out
    assert text.out.count(error) == 2  # in the errors table and in cycle-0002's row


def test_a_killed_run_without_summary_and_with_a_torn_last_line_is_analyzed_without_being_changed(
        runs: Runs, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = copy_run(runs.passed, tmp_path)
    (run_dir / "summary.json").unlink()
    with (run_dir / "metrics.jsonl").open("a") as fh:
        fh.write('{"type": "cycle_start", "ts": 1.0, "run_id": "')  # killed mid-write
    before = {path.relative_to(run_dir): hashlib.sha256(path.read_bytes()).hexdigest()
              for path in run_dir.rglob("*") if path.is_file()}

    document = analyze(capsys, run_dir, "--json")
    text = analyze(capsys, run_dir)

    assert (document.code, text.code) == (0, 0)
    report = document.json()
    assert (report["run_id"], report["cycles"], report["successes"], report["failures"]) == (
        runs.passed.name, 2, 2, 0)
    assert (report["stop_reason"], report["interrupted"]) == (None, True)
    assert report["latency_ms"]["phase.activation"]["count"] == 2  # from histograms/
    no_summary, torn = report["notes"]
    assert no_summary.startswith("no summary.json: the run was killed")
    assert torn.startswith("metrics.jsonl ends in a torn line")
    assert "note: no summary.json" in text.out
    assert "stop reason unknown (no summary.json)" in text.out
    after = {path.relative_to(run_dir): hashlib.sha256(path.read_bytes()).hexdigest()
             for path in run_dir.rglob("*") if path.is_file()}
    assert after == before


def test_a_resume_killed_before_it_wrote_a_summary_is_counted_from_metrics_jsonl(
        runs: Runs, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = copy_run(runs.passed, tmp_path)
    lines = (run_dir / "metrics.jsonl").read_text().splitlines(keepends=True)
    records = [json.loads(line) for line in lines]
    first_start = next(r for r in records if r["type"] == "run_start")
    run_end = next(r for r in records if r["type"] == "run_end")
    resumed = {**first_start, "ts": run_end["ts"] + 60, "resumed": True, "next_cycle": 3}
    (run_dir / "metrics.jsonl").write_text("".join([*lines, json.dumps(resumed) + "\n"]))

    report = analyze(capsys, run_dir, "--json").json()
    text = analyze(capsys, run_dir).out

    assert (report["process_starts"], report["interrupted"], report["stop_reason"]) == (2, True, None)
    assert (report["cycles"], report["successes"]) == (2, 2)
    assert report["notes"][0].startswith("summary.json predates the run's last process start")
    assert "resumed 1 time; last process interrupted or killed" in text


def test_the_html_report_is_self_contained_and_escapes_what_it_took_from_the_artifacts(
        runs: Runs, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", WIDE)
    hostile = '<script>alert("x")</script> [bold]not markup[/bold] :thumbs_up:'
    run_dir = copy_run(runs.failed, tmp_path)

    def inject(summary: dict[str, Any]) -> None:
        summary["cycle_results"][1]["error"] = hostile

    edit_json(run_dir / "summary.json", inject)
    report_path = tmp_path / "reports" / "run.html"

    result = analyze(capsys, run_dir, "--html", report_path)

    assert result.code == 1
    assert result.out.endswith(f"html report: {report_path}\n")
    assert hostile in result.out  # the text output prints it as recorded, no rich markup or emoji
    page = report_path.read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert runs.failed.name in page
    for phase in ("preflight", "primary_preparation", "activation", "post_activation_verification",
                  "finalization"):
        assert f"<td>{phase}</td>" in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "<script" not in page
    assert "src=" not in page
    # The plots' SVG refers to its own definitions (markers, clip paths) and to nothing else.
    assert re.findall(r'href="([^#][^"]*)"', page) == []
    assert page.count('<figure class="plot"') == 4
    assert sorted(p.name for p in report_path.parent.iterdir()) == ["run.html"]  # no temp file left


def test_json_and_html_together_print_only_the_json_document(runs: Runs, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    report_path = tmp_path / "run.html"

    result = analyze(capsys, runs.passed, "--json", "--html", report_path)

    assert result.code == 0
    assert result.json()["run_id"] == runs.passed.name
    assert report_path.exists()


def _no_files(run_dir: Path) -> None:
    for name in ("summary.json", "metrics.jsonl"):
        (run_dir / name).unlink()


def _corrupt_summary(run_dir: Path) -> None:
    (run_dir / "summary.json").write_text('{"cycles": 2,')


def _corrupt_manifest(run_dir: Path) -> None:
    (run_dir / "manifest.json").write_text("[]")


def _corrupt_middle_record(run_dir: Path) -> None:
    lines = (run_dir / "metrics.jsonl").read_text().splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if '"type": "cycle_end"' in line)
    lines[index] = lines[index][:40] + "\n"
    (run_dir / "metrics.jsonl").write_text("".join(lines))


def _corrupt_histogram(run_dir: Path) -> None:
    (run_dir / "histograms" / "phase.activation.hdr").write_bytes(b"HISTFAAAA-not-a-histogram")


@pytest.mark.parametrize(("damage", "named", "says"), [
    (_no_files, "", "is not a run directory"),
    (_corrupt_summary, "summary.json", "is not valid JSON"),
    (_corrupt_manifest, "manifest.json", "is not a JSON object"),
    (_corrupt_middle_record, "metrics.jsonl", "is not valid JSON"),
    (_corrupt_histogram, "histograms/phase.activation.hdr", "is not an encoded HDR histogram"),
])
def test_a_damaged_run_directory_is_one_line_naming_the_file_and_exit_code_2(
        runs: Runs, tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: Callable[[Path], None], named: str,
        says: str) -> None:
    run_dir = copy_run(runs.passed, tmp_path)
    damage(run_dir)

    result = analyze(capsys, run_dir)

    assert result.code == 2
    assert result.out == ""
    assert result.err.startswith(f"error: {run_dir}/{named}".rstrip("/"))
    assert says in result.err
    assert result.err.count("\n") == 1


@pytest.mark.parametrize("exists_as_file", [False, True])
def test_a_run_dir_that_is_missing_or_a_file_is_exit_code_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                            exists_as_file: bool) -> None:
    path = tmp_path / "run-x"
    if exists_as_file:
        path.write_text("")

    result = analyze(capsys, path)

    assert result.code == 2
    assert result.err.startswith(f"error: {path}")
    assert result.err.count("\n") == 1


def test_an_html_path_that_cannot_be_written_is_exit_code_2(runs: Runs, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    result = analyze(capsys, runs.passed, "--html", tmp_path)  # a directory

    assert result.code == 2
    assert result.err.startswith(f"error: cannot write {tmp_path}")
    assert result.err.count("\n") == 1


@pytest.mark.parametrize("options", [[], ["--json"]])
def test_output_cut_short_by_its_reader_ends_quietly(runs: Runs, options: list[str]) -> None:
    with subprocess.Popen([sys.executable, "-m", "asyncswitch", "analyze", str(runs.passed), *options],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        process.stdout.close()  # `analyze RUN_DIR | head -0`: the reader is gone before the first line
        err = process.stderr.read()
        process.wait(timeout=60)

    assert (process.returncode, err) == (1, b"")
