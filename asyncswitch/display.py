"""Progress while a run goes on, and the closing table: rich on a terminal, plain lines otherwise."""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from rich.console import Console
from rich.table import Table

from .config import PHASE_NAMES
from .engine import EngineEvent
from .metrics import HdrCollector

__all__ = ["Display"]


class Display:
    """Prints one line per cycle (with live percentiles) and a closing table of per-phase figures."""

    SHOWS = frozenset({"cycle_start", "phase_result", "alert", "fault_injected", "fault_skipped", "fault_rolled_back",
                       "cycle_verdict", "cycle_end"})
    """The record types :meth:`show` prints (what to subscribe it to)."""

    def __init__(self, *, total_cycles: int, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.total = total_cycles
        self.enabled = enabled
        self.console = Console(file=stream or sys.stdout, highlight=False)

    async def run(self, queue: asyncio.Queue[EngineEvent | None], collector: HdrCollector) -> None:
        while (event := await queue.get()) is not None:
            if self.enabled:
                self.show(event, collector)

    def show(self, event: EngineEvent, collector: HdrCollector) -> None:
        data = event.data
        if event.type == "cycle_start":
            resumed = " (resumed)" if data.get("resumed") else ""
            self.console.print(f"[bold]{event.cycle_id}[/] ({data['cycle']}/{self.total}) "
                               f"{data['primary']} -> {data['secondary']}{resumed}")
        elif event.type == "phase_result":
            mark = "ok" if data.get("outcome") == "succeeded" else "FAILED"
            # One percentile, not collector.summary(): that walks every histogram and stalls the loop.
            value = collector.value_at(f"phase.{data['phase']}", 95.0)
            p95 = f"  p95 {value / 1000:.2f} s" if value is not None else ""
            self.console.print(f"  {data['phase']:30} {mark:6} {data['duration_s']:8.2f} s{p95}"
                               + (f"  {data['error']}" if data.get("error") else ""), markup=False)
        elif event.type == "alert":
            self.console.print(f"  alert {data['rule']}: {data['message']}", markup=False)
        elif event.type in ("fault_injected", "fault_rolled_back"):
            self.console.print(f"  {event.type.replace('_', ' ')}: {data.get('scenario')} "
                               f"{data.get('target') or data.get('message') or ''}", markup=False)
        elif event.type == "fault_skipped":
            self.console.print(f"  fault skipped: {data.get('scenario')}: {data.get('reason')}", markup=False)
        elif event.type == "cycle_verdict":
            findings = "; ".join(f"{f['name']}: {f['finding']}" for f in data.get("findings") or [])
            loud = "DAMAGED" if data["verdict"] == "damaged" else data["verdict"]
            self.console.print(f"  verdict: {loud}" + (f" ({findings})" if findings else ""), markup=False)
        elif event.type == "cycle_end":
            outcome = "succeeded" if data["success"] else "failed"
            self.console.print(f"  cycle {outcome} in {data['duration_s']:.2f} s")

    def closing(self, collector: HdrCollector, *, successes: int, cycles: int, run_dir: str) -> None:
        table = Table(title=f"{successes}/{cycles} cycles succeeded" + (
            f" ({100 * successes / cycles:.0f} %)" if cycles else ""))
        for column in ("phase", "count", "p50 (s)", "p95 (s)", "p99 (s)", "max (s)"):
            table.add_column(column, justify="left" if column == "phase" else "right")
        summary = collector.summary()
        for name in (*(f"phase.{phase}" for phase in PHASE_NAMES), "cycle", "cluster.reconnect"):
            stats = summary.get(name) or {}
            if stats.get("count"):
                table.add_row(name.removeprefix("phase."), str(int(stats["count"])),
                              *(f"{stats[k] / 1000:.3f}" for k in ("p50", "p95", "p99", "max")))
        self.console.print(table)
        reaction = summary.get("reaction") or {}
        if reaction.get("count"):
            self.console.print(f"monitors saw the run's {int(reaction['count'])} writes after p50 "
                               f"{reaction['p50']:.1f} ms, p99 {reaction['p99']:.1f} ms (max {reaction['max']:.1f})")
        self.console.print(f"artifacts: {run_dir}")
