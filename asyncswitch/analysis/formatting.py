"""How the reports word and format values: one wording for the text and the HTML renderings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .report import CycleRow, RunReport

if TYPE_CHECKING:
    from .compare import PercentileRow

__all__ = ["describe_directories", "describe_hubs", "describe_lifecycle", "describe_options", "describe_outcome",
           "describe_versions", "direction", "format_detectable", "format_input", "format_ms", "format_p",
           "format_rate", "format_ratio", "format_seconds", "metric_label", "row_verdict"]


def format_input(value: object) -> str:
    """An input as the command line spells it (an option not given is ``none``)."""
    return "none" if value is None else str(value)


def format_ms(value: float | None) -> str:
    """Milliseconds with the digits that mean something at HdrHistogram's 3 significant figures."""
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def format_seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def format_rate(rate: float | None) -> str:
    return "-" if rate is None else f"{100 * rate:.1f} %"


def format_ratio(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.2f}x"


def format_p(p_value: float | None) -> str:
    """A p-value with two significant digits; ``-`` when there was nothing to test."""
    if p_value is None:
        return "-"
    return "< 0.0001" if p_value < 0.0001 else f"{p_value:.2g}"


def format_detectable(ratio: float | None) -> str:
    """The smallest detectable slowdown; ``none`` when the cycle counts are too few for any."""
    return "none" if ratio is None else f">= {ratio:.2f}x"


def row_verdict(row: PercentileRow) -> str:
    if row.regression:
        return "REGRESSION"
    if row.improvement:
        return "improvement"
    return "" if row.supported else "n too small"


def describe_directories(report: RunReport) -> str:
    return ", ".join(str(path) for path in report.run_dirs) if report.run_dirs else str(report.run_dir)


def metric_label(histogram: str) -> str:
    """``phase.activation`` → ``activation``; the run-wide histograms keep their names."""
    return histogram.removeprefix("phase.")


def direction(row: CycleRow) -> str:
    return f"{row.primary or '?'} -> {row.secondary or '?'}"


def describe_options(report: RunReport) -> str:
    inputs = report.inputs
    if not inputs:
        return "unknown (no manifest.json)"
    parts = [f"method {inputs.get('method')}"
             + (f" ({inputs.get('activation_method')} activation)" if inputs.get("method") == "passive" else ""),
             f"old hub {inputs.get('old_hub_action')}", f"{inputs.get('cycles')} cycles asked"]
    if inputs.get("run_hours") is not None:
        parts.append(f"at most {inputs['run_hours']} h")
    if inputs.get("max_failures") is not None:
        parts.append(f"max {inputs['max_failures']} failures")
    if inputs.get("stop_on_failure"):
        parts.append("stop on failure")
    if inputs.get("cooldown"):
        parts.append(f"cooldown {inputs['cooldown']} s")
    if inputs.get("inject_failure"):
        moment = inputs.get("inject_at") or inputs.get("inject_at_phase") or "each scenario's moment"
        parts.append(f"fault {inputs['inject_failure']} at {moment}")
    if inputs.get("dry_run"):
        parts.append("dry run")
    if report.simulator is not None:
        parts.append(f"embedded simulator ({report.simulator.get('clusters')} clusters, "
                     f"profile {report.simulator.get('profile')}, seed {report.simulator.get('seed')})")
    else:
        parts.append(f"contexts {inputs.get('primary_context')} and {inputs.get('secondary_context')}")
    return ", ".join(parts)


def describe_hubs(report: RunReport) -> str:
    if not report.hubs:
        return "unknown"
    described = []
    for name, facts in report.hubs.items():
        if isinstance(facts, dict) and facts.get("error"):
            described.append(f"{name} (version unknown: {facts['error']})")
        else:
            described.append(f"{name} ACM {(facts or {}).get('acm') or '?'}")
    return ", ".join(described)


def describe_versions(report: RunReport) -> str:
    versions = dict(report.versions)
    if not versions:
        return "unknown"
    git = f" (git {report.git_sha[:12]})" if report.git_sha and report.git_sha != "unknown" else ""
    first = f"asyncswitch {versions.pop('asyncswitch', '?')}{git}"
    return ", ".join([first, *(f"{name} {version}" for name, version in versions.items())])


def describe_outcome(report: RunReport) -> str:
    return (f"{report.total_cycles} run, {report.successes} succeeded, {report.failures} failed "
            f"({format_rate(report.success_rate)} success)")


def describe_lifecycle(report: RunReport) -> str:
    stop = report.stop_reason or "unknown (no summary.json)"
    resumes = report.process_starts - max(1, len(report.run_dirs))  # each merged run's first process is no resume
    resumed = "never resumed" if resumes <= 0 else f"resumed {resumes} time{'s' if resumes > 1 else ''}"
    ending = "interrupted or killed (run --resume continues it)" if report.interrupted else "finished"
    return f"stop reason {stop}; {resumed}; last process {ending}"
