"""The library API: ``async with Engine(config) as engine: result = await engine.run()``.

The engine's cycle loop publishes one typed event stream; metrics.jsonl, the HDR collector
and the progress display are its consumers, each a task on the same loop. This module wires
them together (it sits above the engine and metrics layers) and owns the run directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import AsyncGenerator, Collection
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import structlog

from .config import RunConfig
from .display import Display
from .engine import CycleLoop, EngineEvent, EventBus, RunState
from .errors import ConfigError
from .metrics import (
    HdrCollector,
    JsonlWriter,
    last_record_time,
    new_run_id,
    read_records,
    write_manifest,
    write_summary,
)

__all__ = ["Engine", "RunResult", "SupportsKubeconfig"]


class SupportsKubeconfig(Protocol):
    """What the engine needs of an embedded hub pair: a kubeconfig with contexts hub-a and hub-b."""

    def write_kubeconfig(self, path: str | os.PathLike[str], *, read_only: bool = False) -> Path: ...


@dataclass
class RunResult:
    run_id: str
    run_dir: Path
    cycles: int
    successes: int
    failures: int
    stop_reason: str | None
    interrupted: bool = False
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def success_rate(self) -> float | None:
        return self.successes / self.cycles if self.cycles else None

    @property
    def ok(self) -> bool:
        return not self.interrupted and self.failures == 0 and self.cycles > 0


class Engine:
    """Runs switchover cycles and leaves the artifacts of the run in its directory."""

    def __init__(self, config: RunConfig, *, hub_pair: SupportsKubeconfig | None = None,
                 display: Display | None = None) -> None:
        if not isinstance(config, RunConfig):
            raise ConfigError(f"Engine needs a RunConfig, not {type(config).__name__}")
        if hub_pair is not None and not callable(getattr(hub_pair, "write_kubeconfig", None)):
            raise ConfigError("hub_pair must be a simulated hub pair (with write_kubeconfig), "
                              f"not {type(hub_pair).__name__}")
        if display is not None and not isinstance(display, Display):
            raise ConfigError(f"display must be a Display, not {type(display).__name__}")
        if config.embedded and hub_pair is None:
            raise ConfigError("no contexts given and no embedded hub pair: pass hub_pair= or both contexts")
        seconds = getattr(hub_pair, "real_seconds", None)
        if config.embedded and callable(seconds):
            # Simulated hubs run their operators faster: watch as many simulated seconds as asked.
            config = replace(config, timeouts=replace(
                config.timeouts, compactor_watch=float(seconds(config.timeouts.compactor_watch))))
        self.config = config
        self._hub_pair = hub_pair
        self._display = display
        self.bus = EventBus()
        self.collector = HdrCollector()
        self.alerts: list[dict[str, Any]] = []
        self.cycle_results: list[dict[str, Any]] = []
        self.run_id = ""
        self.run_dir = Path()
        self._state: RunState | None = None
        self._loop: CycleLoop | None = None
        self._tg: asyncio.TaskGroup | None = None
        self._consumers: list[asyncio.Task[None]] = []
        self._interrupted = False
        self._result: RunResult | None = None
        self._summary: dict[str, Any] = {}
        self._log = structlog.get_logger("asyncswitch.engine")

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> Engine:
        config = self.config
        if config.resume is not None:
            self.run_dir = config.resume
            state_file = self.run_dir / "run_state.json"
            if not state_file.exists():
                raise ConfigError(f"cannot resume: {self.run_dir} holds no run_state.json")
            state = RunState.load(state_file)
            self.run_id = state.run_id
            state.finished, state.stop_reason = False, None
            self.collector.load(self.run_dir / "histograms")
            # The summary covers the whole run, not only this process's part of it.
            self.cycle_results = await asyncio.to_thread(_ended_cycles, self.run_dir, state.next_cycle)
            self.alerts = [_without_envelope(r) for r in await asyncio.to_thread(
                read_records, self.run_dir / "metrics.jsonl", ("alert",))]
            # The interrupted process ran past its last save: count up to its last record for --run-hours.
            last_alive = await asyncio.to_thread(last_record_time, self.run_dir / "metrics.jsonl")
            if last_alive is not None and state.elapsed_as_of:
                state.elapsed_before += max(0.0, last_alive - state.elapsed_as_of)
        else:
            self.run_id = new_run_id()
            self.run_dir = config.output_dir / self.run_id
            self.run_dir.mkdir(parents=True, exist_ok=False)
            state = None
        if self._hub_pair is not None:
            kubeconfig = self._hub_pair.write_kubeconfig(self.run_dir / "sim.kubeconfig")
            self.config = config = config.with_contexts(kubeconfig, "hub-a", "hub-b")
            if state is not None:
                # The simulated pair of the interrupted process is gone; a new one starts as hub-a active.
                state.primary, state.secondary = "hub-a", "hub-b"
                if state.in_flight:
                    (self.run_dir / "cycles" / state.in_flight / "state.json").unlink(missing_ok=True)
        assert config.primary_context
        assert config.secondary_context
        if state is None:
            state = RunState(run_id=self.run_id, primary=config.primary_context,
                             secondary=config.secondary_context, started_wall=time.time())
        self._state = state
        structlog.contextvars.bind_contextvars(run_id=self.run_id)
        for caveat in config.caveats:
            self._log.warning(caveat)
        self._loop = CycleLoop(config, run_dir=self.run_dir, state=state, bus=self.bus)
        self._tg = asyncio.TaskGroup()
        await self._tg.__aenter__()
        writer = JsonlWriter(self.run_dir / "metrics.jsonl", self.bus.subscribe(), record_events=config.record_events)
        self._consumers.append(self._tg.create_task(writer.run(), name="metrics:jsonl"))
        collected = self.bus.subscribe(HdrCollector.CONSUMES | {"alert", "cycle_end"})
        self._consumers.append(self._tg.create_task(self._collect(collected), name="metrics:hdr"))
        if self._display is not None:
            self._consumers.append(self._tg.create_task(
                self._display.run(self.bus.subscribe(Display.SHOWS), self.collector), name="display"))
        self.bus.publish(EngineEvent("run_start", self.run_id, data={
            "resumed": config.resume is not None, "next_cycle": state.next_cycle, "cycles": config.cycles,
            "primary": state.primary, "secondary": state.secondary, "elapsed_before_s": state.elapsed_before}))
        if config.resume is None:
            await write_manifest(self.run_dir, run_id=self.run_id, config=config, embedded=self._embedded_info())
        return self

    def _embedded_info(self) -> dict[str, Any] | None:
        if self._hub_pair is None:
            return None
        info: dict[str, Any] = {"clusters": self.config.sim_clusters, "profile": self.config.sim_profile,
                                "seed": self.config.seed, "acm_version": self.config.sim_acm_version}
        return info

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: object) -> None:
        # Flushing the artifacts must survive a second Ctrl-C.
        await asyncio.shield(self._finish(interrupted=exc_type is not None or self._interrupted))

    async def _finish(self, *, interrupted: bool) -> None:
        self.bus.publish(EngineEvent("run_end", self.run_id, data={"interrupted": interrupted}))
        self.bus.close()
        if self._tg is not None:
            tg, self._tg = self._tg, None
            await tg.__aexit__(None, None, None)
        await asyncio.to_thread(self.collector.save, self.run_dir / "histograms")
        if self._state is not None:
            self._summary = await asyncio.to_thread(
                write_summary, self.run_dir, run_id=self.run_id, state=_state_dict(self._state),
                histograms=self.collector.summary(), alerts=self.alerts, cycles=self.cycle_results,
                interrupted=interrupted)
        if self._result is not None:
            self._result.summary, self._result.interrupted = self._summary, interrupted
        structlog.contextvars.unbind_contextvars("run_id")

    # -- running -----------------------------------------------------------------------------

    async def run(self) -> RunResult:
        """Run the cycles; the result's ``summary`` is filled in when the ``async with`` block exits."""
        assert self._loop is not None
        assert self._state is not None
        try:
            state = await self._loop.run()
        except asyncio.CancelledError:
            self._interrupted = True
            raise
        self._result = RunResult(self.run_id, self.run_dir, state.successes + state.failures, state.successes,
                                 state.failures, state.stop_reason)
        return self._result

    def request_stop(self) -> None:
        """Start no new cycle; the one in flight finishes."""
        if self._loop is not None:
            self._loop.request_stop()

    def events(self, types: Collection[str] | None = None) -> AsyncGenerator[EngineEvent, None]:
        """Every engine event from this call on (only those of ``types``, if given), until the run ends.

        Subscribes at the call, not at the first iteration: call it before ``engine.run()`` and
        iterate in another task (under ``contextlib.aclosing``), and no event of the first cycle is missed.
        """
        return self.bus.stream(types)

    async def _collect(self, queue: asyncio.Queue[EngineEvent | None]) -> None:
        while (event := await queue.get()) is not None:
            self.collector.consume(event)
            if event.type == "alert":
                self.alerts.append({"cycle_id": event.cycle_id, **event.data})
            elif event.type == "cycle_end":
                self.cycle_results.append({"cycle_id": event.cycle_id, **event.data})
                with contextlib.suppress(OSError):
                    await asyncio.to_thread(self.collector.save, self.run_dir / "histograms")


def _state_dict(state: RunState) -> dict[str, Any]:
    return asdict(state)


_CYCLE_RESULT_KEYS = ("cycle_id", "cycle", "success", "moved_fleet", "duration_s", "error", "primary", "secondary")


def _ended_cycles(run_dir: Path, next_cycle: int) -> list[dict[str, Any]]:
    """The cycles an earlier process of this run ended, from their result.json (written before the
    run state counts a cycle, so every counted cycle has one)."""
    ended: list[dict[str, Any]] = []
    for number in range(1, next_cycle):
        path = run_dir / "cycles" / f"cycle-{number:04d}" / "result.json"
        with contextlib.suppress(OSError, ValueError):
            result = json.loads(path.read_text())
            ended.append({key: result.get(key) for key in _CYCLE_RESULT_KEYS})
    return ended


def _without_envelope(record: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in record.items() if key not in ("type", "ts", "run_id")}
