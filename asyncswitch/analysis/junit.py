"""The JUnit XML rendering of a RunReport (``analyze --junit PATH``), for CI systems that show test
results: one <testsuite> (the run, or the merged runs) of one testcase per cycle and one per phase
that ran, a failed one carrying its error. Written with junitparser, in the common (Jenkins/xunit)
JUnit format, atomically. Times are seconds rounded to the millisecond (never in exponent form)."""

from __future__ import annotations

from pathlib import Path

from junitparser import Failure, TestCase, TestSuite

from ..errors import ConfigError
from ..files import write_atomic
from .report import RunReport

__all__ = ["render_junit", "write_junit"]


def _failure(message: str | None, kind: str) -> Failure:
    failure = Failure(message or "failed", kind)
    failure.text = message or ""
    return failure


def render_junit(report: RunReport) -> bytes:
    suite = TestSuite(f"asyncswitch {report.run_id}")
    spans = {span.cycle_id: span for span in report.spans}
    for row in report.cycles:
        case = TestCase(row.cycle_id, "asyncswitch.cycle", round(row.duration_s or 0.0, 3))
        if not row.success:
            case.result = [_failure(row.error, "CycleFailed")]
        suite.add_testcase(case)
        span = spans.get(row.cycle_id)
        for phase in span.phases if span is not None else []:
            phase_case = TestCase(f"{row.cycle_id} {phase.phase}", f"asyncswitch.phase.{phase.phase}",
                                  round(max(0.0, phase.end - phase.start), 3))
            if phase.outcome != "succeeded":
                phase_case.result = [_failure(phase.error, "PhaseFailed")]
            suite.add_testcase(phase_case)
    # junitparser's methods carry no annotations: the library's own, not ours to type.
    suite.update_statistics()  # type: ignore[no-untyped-call]
    suite.time = round(suite.time, 3)
    # A <testsuite> root: what every JUnit reader takes (junitparser's <testsuites> carries a
    # `skipped` count the common schema does not have there).
    body: bytes = suite.tostring()  # type: ignore[no-untyped-call]
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body + b"\n"


def write_junit(report: RunReport, path: Path) -> None:
    try:
        write_atomic(path, render_junit(report))
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
