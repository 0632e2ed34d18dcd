"""``analyze --junit PATH`` and ``analyze --openmetrics PATH``: files that CI systems and Prometheus
already read."""

from __future__ import annotations

from pathlib import Path

import pytest
import xmlschema
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from .support import Runs, asyncswitch, read_json

JUNIT_SCHEMA = xmlschema.XMLSchema(Path(__file__).with_name("junit.xsd"))
PHASES = ("preflight", "primary_preparation", "activation", "post_activation_verification", "finalization")


def test_the_junit_file_validates_and_has_a_testcase_per_cycle_and_per_phase_with_the_failures_errors(
        runs: Runs, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "junit.xml"
    error = read_json(runs.failed / "summary.json")["cycle_results"][1]["error"]

    result = asyncswitch(capsys, "analyze", runs.failed, "--junit", path)

    assert result.code == 1
    assert result.out.endswith(f"junit: {path}\n")
    JUNIT_SCHEMA.validate(str(path))
    suite = JUNIT_SCHEMA.to_dict(str(path))
    cases = {case["@name"]: case for case in suite["testcase"]}
    assert (suite["@tests"], suite["@failures"], suite["@errors"]) == (len(cases), 2, 0)
    assert [name for name in cases if " " not in name] == ["cycle-0001", "cycle-0002"]
    assert [f"cycle-0001 {phase}" in cases for phase in PHASES] == [True] * 5
    assert "failure" not in cases["cycle-0001"]
    assert cases["cycle-0002"]["failure"][0]["@message"] == error
    assert cases["cycle-0002 preflight"]["failure"][0]["@type"] == "PhaseFailed"
    assert "cycle-0002 activation" not in cases  # the cycle stopped at its failed preflight


def test_the_openmetrics_file_parses_and_carries_the_summary(runs: Runs, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "run.om.txt"
    report = asyncswitch(capsys, "analyze", runs.failed, "--json").json()

    result = asyncswitch(capsys, "analyze", runs.failed, "--openmetrics", path)

    assert result.code == 1
    text = path.read_text()
    assert text.endswith("# EOF\n")
    families = {family.name: family for family in text_string_to_metric_families(text)}
    samples = {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
               for family in families.values() for sample in family.samples}
    run = ("run_id", runs.failed.name)
    assert samples[("asyncswitch_cycles_total", (("result", "succeeded"), run))] == 1
    assert samples[("asyncswitch_cycles_total", (("result", "failed"), run))] == 1
    assert samples[("asyncswitch_success_ratio", (run,))] == 0.5
    assert families["asyncswitch_latency_seconds"].type == "summary"
    activation = report["latency_ms"]["phase.activation"]
    labels = (("histogram", "phase.activation"), run)
    assert samples[("asyncswitch_latency_seconds", (labels[0], ("quantile", "0.5"), run))] == pytest.approx(
        activation["p50"] / 1000)
    assert samples[("asyncswitch_latency_seconds_count", labels)] == activation["count"]


@pytest.mark.parametrize("option", ["--junit", "--openmetrics"])
def test_an_output_path_that_cannot_be_written_is_exit_code_2(runs: Runs, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str], option: str) -> None:
    result = asyncswitch(capsys, "analyze", runs.passed, option, tmp_path)  # a directory

    assert result.code == 2
    assert result.err.startswith(f"error: cannot write {tmp_path}")
    assert result.err.count("\n") == 1
