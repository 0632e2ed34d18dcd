"""The summary of a RunReport as an OpenMetrics text file (``analyze --openmetrics PATH``), for
Prometheus (a textfile collector, a Pushgateway) and whatever else reads the format: cycle counts,
success ratio, process starts, alerts and injected faults, and every latency histogram as a summary
in seconds (quantiles 0.5, 0.9, 0.95, 0.99, with _count and _sum). Rendered by prometheus_client's
OpenMetrics exposition from a registry made for the one call."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric, SummaryMetricFamily
from prometheus_client.openmetrics.exposition import generate_latest
from prometheus_client.registry import Collector, CollectorRegistry

from ..errors import ConfigError
from ..files import write_atomic
from .report import RunReport

__all__ = ["render_openmetrics", "write_openmetrics"]

_QUANTILES = (("p50", "0.5"), ("p90", "0.9"), ("p95", "0.95"), ("p99", "0.99"))


class _ReportCollector(Collector):
    def __init__(self, report: RunReport) -> None:
        self.report = report

    def collect(self) -> Iterator[Metric]:
        report, run = self.report, {"run_id": self.report.run_id}
        cycles = CounterMetricFamily("asyncswitch_cycles", "Switchover cycles that ended, by result.",
                                     labels=["run_id", "result"])
        cycles.add_metric([report.run_id, "succeeded"], report.successes)
        cycles.add_metric([report.run_id, "failed"], report.failures)
        yield cycles
        if report.success_rate is not None:
            yield _gauge("asyncswitch_success_ratio", "Share of the cycles that succeeded (0 to 1).", run,
                         report.success_rate)
        yield _gauge("asyncswitch_process_starts", "Processes that ran the run: 1, plus one per resume.", run,
                     report.process_starts)
        yield _gauge("asyncswitch_interrupted", "1 when the run's last process was interrupted or killed.", run,
                     int(report.interrupted))
        alerts = CounterMetricFamily("asyncswitch_alerts", "Alerts raised by the monitors, by rule.",
                                     labels=["run_id", "rule"])
        for alert in report.alerts:
            alerts.add_metric([report.run_id, alert.rule], alert.count)
        yield alerts
        faults = CounterMetricFamily("asyncswitch_faults_injected", "Faults injected, by scenario.",
                                     labels=["run_id", "scenario"])
        for fault in report.faults:
            faults.add_metric([report.run_id, fault.scenario], fault.injected)
        yield faults
        verdicts = CounterMetricFamily("asyncswitch_fault_verdicts",
                                       "Verdicts of the cycles each scenario acted in.",
                                       labels=["run_id", "scenario", "verdict"])
        for fault in report.faults:
            for verdict, count in (("recovered", fault.recovered), ("failed-safe", fault.failed_safe),
                                   ("damaged", fault.damaged)):
                verdicts.add_metric([report.run_id, fault.scenario, verdict], count)
        yield verdicts
        latency = SummaryMetricFamily("asyncswitch_latency", "Latencies from the run's HDR histograms, by histogram.",
                                      labels=["run_id", "histogram"], unit="seconds")
        for name, stats in report.latency_ms.items():
            labels = {"run_id": report.run_id, "histogram": name}
            for key, quantile in _QUANTILES:
                latency.add_sample(latency.name, {**labels, "quantile": quantile}, stats[key] / 1000)
            latency.add_sample(f"{latency.name}_count", labels, stats["count"])
            latency.add_sample(f"{latency.name}_sum", labels, stats["mean"] * stats["count"] / 1000)
        yield latency


def _gauge(name: str, documentation: str, labels: dict[str, str], value: float) -> GaugeMetricFamily:
    gauge = GaugeMetricFamily(name, documentation, labels=list(labels))
    gauge.add_metric(list(labels.values()), value)
    return gauge


def render_openmetrics(report: RunReport) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_ReportCollector(report))
    text: bytes = generate_latest(registry)  # type: ignore[no-untyped-call]  # prometheus_client leaves it unannotated
    return text


def write_openmetrics(report: RunReport, path: Path) -> None:
    try:
        write_atomic(path, render_openmetrics(report))
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
