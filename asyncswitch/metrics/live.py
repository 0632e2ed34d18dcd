"""Live metrics of a run in progress (``run --metrics-port``), for Prometheus to scrape.

A consumer of the engine's event stream like the others: its task folds each event into a
prometheus_client registry of its own (no global registry), and an aiohttp server on the same event
loop renders that registry on ``GET /metrics``, as OpenMetrics when the scraper asks for it (Prometheus
does) and in the Prometheus text format otherwise. Rendering a registry this size takes well under a
millisecond, so it runs on the loop; nothing else does I/O. Monitor health is read when scraped, from
the cycle in flight.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Iterator, Sequence

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Enum, Gauge, Histogram, Info
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.openmetrics import exposition as openmetrics
from prometheus_client.registry import Collector

from ..engine import EngineEvent
from ..engine.monitors import MonitorHealth

__all__ = ["LiveMetrics"]

_IDLE = "idle"
_DURATION_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600)


MonitorHealthSource = Callable[[], Iterable[MonitorHealth]]


class LiveMetrics:
    """The run's live metrics: ``consume`` events, ``serve`` them until the run ends."""

    CONSUMES = frozenset({"run_start", "cycle_start", "phase_start", "phase_result", "cycle_end", "alert",
                          "fault_injected", "fault_skipped", "fault_rolled_back", "cycle_verdict"})

    def __init__(self, *, phases: Sequence[str], monitor_health: MonitorHealthSource | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.info = Info("asyncswitch_run", "The run being driven", registry=r)
        self.cycles = Counter("asyncswitch_cycles", "Switchover cycles ended, by outcome", ["outcome"], registry=r)
        self.current_cycle = Gauge("asyncswitch_current_cycle", "Number of the cycle in flight (0 between cycles)",
                                   registry=r)
        self.phase = Enum("asyncswitch_phase", "The switchover phase in flight", states=[_IDLE, *phases],
                          registry=r)
        self.phase_seconds = Histogram("asyncswitch_phase_duration_seconds", "Duration of each ended phase",
                                       ["phase", "outcome"], buckets=_DURATION_BUCKETS, registry=r)
        self.cycle_seconds = Histogram("asyncswitch_cycle_duration_seconds", "Duration of each ended cycle",
                                       buckets=_DURATION_BUCKETS, registry=r)
        self.alerts = Counter("asyncswitch_alerts", "Alerts raised by the monitors, by rule", ["rule"], registry=r)
        self.faults = Counter("asyncswitch_faults", "Fault injections, by scenario and what became of them",
                              ["scenario", "result"], registry=r)
        self.verdicts = Counter("asyncswitch_fault_verdicts", "Verdicts on injected cycles", ["scenario", "verdict"],
                                registry=r)
        for outcome in ("succeeded", "failed"):
            self.cycles.labels(outcome)  # present from the first scrape, at 0
        self.phase.state(_IDLE)
        if monitor_health is not None:
            r.register(_MonitorCollector(monitor_health))
        self._phases = frozenset(phases)
        self._runner: web.AppRunner | None = None

    def consume(self, event: EngineEvent) -> None:
        data = event.data
        kind = event.type
        if kind == "run_start":
            self.info.info({"run_id": event.run_id, "primary": str(data.get("primary", "")),
                            "secondary": str(data.get("secondary", ""))})
        elif kind == "cycle_start":
            self.current_cycle.set(float(data.get("cycle") or 0))
        elif kind == "phase_start" and data.get("phase") in self._phases:
            self.phase.state(str(data["phase"]))
        elif kind == "phase_result":
            self.phase_seconds.labels(str(data.get("phase")), str(data.get("outcome"))).observe(
                float(data.get("duration_s") or 0.0))
        elif kind == "cycle_end":
            self.cycles.labels("succeeded" if data.get("success") else "failed").inc()
            self.cycle_seconds.observe(float(data.get("duration_s") or 0.0))
            self.current_cycle.set(0)
            self.phase.state(_IDLE)
        elif kind == "alert":
            self.alerts.labels(str(data.get("rule"))).inc()
        elif kind == "fault_injected":
            self.faults.labels(str(data.get("scenario")), "injected" if data.get("success", True) else "failed").inc()
        elif kind == "fault_skipped":
            self.faults.labels(str(data.get("scenario")), "skipped").inc()
        elif kind == "fault_rolled_back":
            self.faults.labels(str(data.get("scenario")), "rolled_back").inc()
        elif kind == "cycle_verdict":
            for scenario in data.get("scenarios") or ():
                self.verdicts.labels(str(scenario), str(data.get("verdict"))).inc()

    async def consume_all(self, queue: asyncio.Queue[EngineEvent | None]) -> None:
        while (event := await queue.get()) is not None:
            self.consume(event)

    def render(self, accept: str) -> tuple[bytes, str]:
        """The registry as the scraper asked for it: (body, content type)."""
        if "application/openmetrics-text" in accept:
            return openmetrics.generate_latest(self.registry), openmetrics.CONTENT_TYPE_LATEST  # type: ignore[no-untyped-call]
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    async def start(self, host: str, port: int) -> int:
        """Serve ``/metrics`` on ``host:port`` (0: any free port); returns the port. OSError if it is taken."""

        async def metrics(request: web.Request) -> web.Response:
            body, content_type = self.render(request.headers.get("Accept", ""))
            response = web.Response(body=body)
            response.headers["Content-Type"] = content_type  # has a charset and version: set it whole
            return response

        app = web.Application()
        app.router.add_get("/metrics", metrics)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, host, port).start()
        except BaseException:
            await self.stop()
            raise
        bound: int = self._runner.addresses[0][1]
        return bound

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()


class _MonitorCollector(Collector):
    """The cycle in flight's monitors, read at scrape time (their counts start again each cycle)."""

    def __init__(self, source: MonitorHealthSource) -> None:
        self._source = source

    def collect(self) -> Iterator[Metric]:
        events = GaugeMetricFamily("asyncswitch_monitor_events", "Watch events seen this cycle", labels=["monitor"])
        gaps = GaugeMetricFamily("asyncswitch_monitor_gaps", "Watch gaps this cycle", labels=["monitor"])
        age = GaugeMetricFamily("asyncswitch_monitor_last_event_age_seconds",
                                "Seconds since the monitor's last watch event", labels=["monitor"])
        now = time.time()
        for health in self._source():
            events.add_metric([health.name], health.events)
            gaps.add_metric([health.name], len(health.gaps))
            if health.last_event_wall is not None:
                age.add_metric([health.name], max(0.0, now - health.last_event_wall))
        yield from (events, gaps, age)
