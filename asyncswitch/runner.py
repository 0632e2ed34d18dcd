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
import shutil
import socket
import time
from collections.abc import AsyncGenerator, Collection
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import structlog

from .config import PHASE_NAMES, RunConfig
from .display import Display
from .engine import CycleLoop, CycleOutcome, EngineEvent, EventBus, RunState
from .engine.faults import (
    FaultJournal,
    SimControls,
    fault_summary,
    parse_fault_spec,
    refusal_on_real_hubs,
    replay_journal,
)
from .engine.lease import hub_pair_lease
from .engine.reachability import HubNotAnswering, HubRefused, first_answer
from .errors import ConfigError
from .files import DirectoryLock, remove_temp_files, write_json_atomic
from .kube import Hub
from .metrics import (
    HdrCollector,
    JsonlWriter,
    last_record_time,
    new_run_id,
    read_records,
    write_manifest,
    write_summary,
)

if TYPE_CHECKING:
    from .metrics.live import LiveMetrics

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
    damaged: int = 0
    """Cycles whose verdict after an injected fault was damaged (an invariant broke)."""

    @property
    def success_rate(self) -> float | None:
        return self.successes / self.cycles if self.cycles else None

    @property
    def ok(self) -> bool:
        return not self.interrupted and self.failures == 0 and self.cycles > 0 and self.damaged == 0


class Engine:
    """Runs switchover cycles and leaves the artifacts of the run in its directory."""

    def __init__(self, config: RunConfig, *, hub_pair: SupportsKubeconfig | None = None,
                 display: Display | None = None, sim_controls: SimControls | None = None) -> None:
        """``sim_controls``: the simulated pair that the contexts name, for the simulator-only fault
        scenarios (an embedded ``hub_pair`` is its own)."""
        if not isinstance(config, RunConfig):
            raise ConfigError(f"Engine needs a RunConfig, not {type(config).__name__}")
        if hub_pair is not None and not callable(getattr(hub_pair, "write_kubeconfig", None)):
            raise ConfigError("hub_pair must be a simulated hub pair (with write_kubeconfig), "
                              f"not {type(hub_pair).__name__}")
        if display is not None and not isinstance(display, Display):
            raise ConfigError(f"display must be a Display, not {type(display).__name__}")
        if config.embedded and hub_pair is None:
            raise ConfigError("no contexts given and no embedded hub pair: pass hub_pair= or both contexts")
        embedded_pair: object = hub_pair
        if sim_controls is None and isinstance(embedded_pair, SimControls):
            sim_controls = embedded_pair
        self._sim = sim_controls
        if config.inject_failure:
            parse_fault_spec(config.inject_failure)  # durations: one clear line for a bad one
            refusal = None if sim_controls is not None else refusal_on_real_hubs(config.inject_failure)
            if refusal is not None:
                raise ConfigError(refusal)
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
        self._earlier_cycles: list[dict[str, Any]] = []
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
        self._stack = contextlib.AsyncExitStack()
        self._made: Path | None = None
        self._collected: asyncio.Queue[EngineEvent | None] = asyncio.Queue()
        self._committed: dict[str, Any] = {"histograms": {}, "cycles": []}
        self._live: LiveMetrics | None = None
        self.metrics_url: str | None = None
        """Where live metrics are served during the run (``RunConfig.metrics_port``), once entered."""

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> Engine:
        self._stack = contextlib.AsyncExitStack()
        try:
            await self._open()
        except BaseException:
            await self._stack.aclose()
            if self._made is not None:  # a new run that could not start leaves nothing behind
                await asyncio.to_thread(shutil.rmtree, self._made, True)
            elif self._hub_pair is not None and self.run_dir != Path():
                await asyncio.to_thread((self.run_dir / SIM_KUBECONFIG).unlink, True)
            raise
        return self

    async def _open(self) -> None:
        """Check every input, then make (or lock) the run directory (a new one is ``self._made``)."""
        config = self.config
        if config.metrics_port is not None:
            # First: a port that is taken is a wrong input, refused before anything is made.
            await self._start_metrics(config.metrics_host, config.metrics_port)
        state: RunState | None = None
        unanswered: set[str] = set()
        if config.resume is not None:
            state = await self._reopen(config.resume)
        else:
            if not config.embedded:
                unanswered = await _check_hubs(config)
            self.run_id = new_run_id()
            self.run_dir = self._made = await asyncio.to_thread(_make_run_dir, config.output_dir, self.run_id)
            lock = DirectoryLock(self.run_dir)
            lock.acquire()
            self._stack.callback(lock.release)
        if self._hub_pair is not None:
            kubeconfig = self._hub_pair.write_kubeconfig(self.run_dir / SIM_KUBECONFIG)
            self.config = config = config.with_contexts(kubeconfig, "hub-a", "hub-b")
            if state is not None:
                # The simulated pair of the interrupted process is gone; a new one starts as hub-a active.
                state.primary, state.secondary = "hub-a", "hub-b"
                if state.in_flight:
                    (self.run_dir / "cycles" / state.in_flight / "state.json").unlink(missing_ok=True)
        if self._hub_pair is not None or config.resume is not None:
            unanswered = await _check_hubs(config)
        assert config.kubeconfig is not None
        assert config.primary_context
        assert config.secondary_context
        hubs = [await self._stack.enter_async_context(Hub.connect(config.kubeconfig, context))
                for context in (config.primary_context, config.secondary_context)]
        for hub in hubs:
            if hub.name in unanswered:
                self._log.warning("the hub did not answer: its lease is not taken, and cycles fail until it answers",
                                  hub=hub.name)
        if not config.dry_run:  # a dry run changes nothing (a read-only token will do): it takes no lease
            await self._stack.enter_async_context(
                hub_pair_lease([h for h in hubs if h.name not in unanswered], run_id=self.run_id))
        if state is None:
            state = RunState(run_id=self.run_id, primary=config.primary_context,
                             secondary=config.secondary_context, started_wall=time.time())
        self._state = state
        structlog.contextvars.bind_contextvars(run_id=self.run_id)
        for caveat in config.caveats:
            self._log.warning(caveat)
        self._loop = CycleLoop(config, run_dir=self.run_dir, state=state, bus=self.bus, commit=self.commit_cycle,
                               sim=self._sim)
        self._tg = asyncio.TaskGroup()
        await self._tg.__aenter__()
        writer = JsonlWriter(self.run_dir / "metrics.jsonl", self.bus.subscribe(), record_events=config.record_events)
        self._consumers.append(self._tg.create_task(writer.run(), name="metrics:jsonl"))
        self._collected = self.bus.subscribe((HdrCollector.CONSUMES - {"cycle_end"}) | {"alert"})
        self._consumers.append(self._tg.create_task(self._collect(self._collected), name="metrics:hdr"))
        if self._display is not None:
            self._consumers.append(self._tg.create_task(
                self._display.run(self.bus.subscribe(Display.SHOWS), self.collector), name="display"))
        if self._live is not None:
            self._consumers.append(self._tg.create_task(
                self._live.consume_all(self.bus.subscribe(self._live.CONSUMES)), name="metrics:live"))
        self.bus.publish(EngineEvent("run_start", self.run_id, data={
            "resumed": config.resume is not None, "next_cycle": state.next_cycle, "cycles": config.cycles,
            "primary": state.primary, "secondary": state.secondary, "elapsed_before_s": state.elapsed_before}))
        if config.resume is not None:
            # Before anything else: roll back the faults the interrupted process held (its journal).
            await replay_journal(
                FaultJournal(self.run_dir / "fault_journal.jsonl"), kubeconfig=config.kubeconfig,
                embedded=self._hub_pair is not None,
                publish=lambda kind, data: self.bus.publish(EngineEvent(kind, self.run_id, None, data)))
        if config.resume is None:
            await write_manifest(self.run_dir, run_id=self.run_id, config=config, embedded=self._embedded_info())
        else:
            await self._replay_lost_cycle_ends()

    async def _reopen(self, run_dir: Path) -> RunState:
        """Lock an interrupted run's directory and load what its last commit holds."""
        await asyncio.to_thread(_check_resumable, run_dir)
        self.run_dir = run_dir
        lock = DirectoryLock(run_dir)
        try:
            lock.acquire()
        except OSError as exc:
            raise ConfigError(f"cannot resume {run_dir}: {exc.strerror or exc}") from None
        self._stack.callback(lock.release)
        manifest = await asyncio.to_thread(_read_manifest, run_dir)
        if self._hub_pair is not None and manifest is not None and manifest.get("embedded_simulator") is None:
            inputs = manifest.get("inputs") or {}
            raise ConfigError(f"cannot resume {run_dir} on the embedded simulator: it was run against kubeconfig "
                              f"{inputs.get('kubeconfig')} (contexts {inputs.get('primary_context')}, "
                              f"{inputs.get('secondary_context')}); resume it with those")
        state, committed = await asyncio.to_thread(_load_commit, run_dir)
        self.run_id = state.run_id
        state.finished, state.stop_reason = False, None
        try:
            if committed is not None:
                self.collector.load_encoded(committed["histograms"])
                self.cycle_results = list(committed["cycles"])
            else:  # a run committed before histograms moved into run_state.json
                await asyncio.to_thread(self.collector.load, run_dir / "histograms")
                self.cycle_results = await asyncio.to_thread(_ended_cycles, run_dir, state.next_cycle)
        except (ValueError, OSError) as exc:
            raise ConfigError(f"cannot resume {run_dir}: its histograms are damaged ({exc})") from None
        self._earlier_cycles = list(self.cycle_results)
        self._committed = committed or {"histograms": self.collector.encoded(), "cycles": self.cycle_results}
        await asyncio.to_thread(remove_temp_files, run_dir)  # a killed writer's; we hold the lock
        self.alerts = [_without_envelope(r) for r in await asyncio.to_thread(
            read_records, run_dir / "metrics.jsonl", ("alert",))]
        # The interrupted process ran past its last save: count up to its last record for --run-hours.
        last_alive = await asyncio.to_thread(last_record_time, run_dir / "metrics.jsonl")
        if last_alive is not None and state.elapsed_as_of:
            state.elapsed_before += max(0.0, last_alive - state.elapsed_as_of)
        return state

    async def _replay_lost_cycle_ends(self) -> None:
        """A kill after a cycle's commit but before its cycle_end reached metrics.jsonl: publish it now,
        marked replayed, so metrics.jsonl holds each counted cycle's end exactly once."""
        logged = {r.get("cycle_id") for r in await asyncio.to_thread(
            read_records, self.run_dir / "metrics.jsonl", ("cycle_end",))}
        for result in self.cycle_results:
            if result.get("cycle_id") not in logged:
                data = {k: v for k, v in result.items() if k != "cycle_id"}
                self.bus.publish(EngineEvent("cycle_end", self.run_id, result.get("cycle_id"),
                                             {**data, "replayed": True}))

    async def commit_cycle(self, state: RunState, outcome: CycleOutcome | None) -> None:
        """The run's one commit point: run_state.json holds the run state and, as of the last cycle end,
        every histogram and every ended cycle's record, written in one atomic rename. A kill leaves the
        previous generation or this one, never a mix. histograms/ is then exported from it."""
        if outcome is not None:
            await self._collected.join()  # everything the cycle published before its end is measured
            self.collector.consume(EngineEvent("cycle_end", self.run_id, outcome.cycle_id, outcome.end))
            self.cycle_results.append({"cycle_id": outcome.cycle_id, **outcome.end})
            self._committed = {"histograms": self.collector.encoded(), "cycles": list(self.cycle_results)}
        document = {**asdict(state), "committed": self._committed}
        await asyncio.to_thread(write_json_atomic, self.run_dir / "run_state.json", document)
        if outcome is not None:
            with contextlib.suppress(OSError):
                await asyncio.to_thread(self.collector.save, self.run_dir / "histograms")

    async def _start_metrics(self, host: str, port: int) -> None:
        from .metrics.live import LiveMetrics  # prometheus_client and the server only when asked for

        live = LiveMetrics(phases=PHASE_NAMES,
                           monitor_health=lambda: self._loop.monitor_health() if self._loop is not None else [])
        try:
            bound = await live.start(host, port)
        except OSError as exc:
            # A resolver error's errno is its own (negative) code; strerror has its words.
            why = exc.strerror if isinstance(exc, socket.gaierror) or not exc.errno else os.strerror(exc.errno)
            raise ConfigError(f"--metrics-port {port}: cannot listen on {host}: {why}") from None
        self._live = live
        self._stack.push_async_callback(live.stop)  # served until the artifacts are written
        self.metrics_url = f"http://{host}:{bound}/metrics"
        self._log.info("serving live metrics", url=self.metrics_url)

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
        try:
            await asyncio.to_thread(self.collector.save, self.run_dir / "histograms")
            if self._state is not None:
                histograms = self.collector.summary()
                faults = fault_summary(self.cycle_results, histograms) if self.config.inject_failure else None
                self._summary = await asyncio.to_thread(
                    write_summary, self.run_dir, run_id=self.run_id, state=_state_dict(self._state),
                    histograms=histograms, alerts=self.alerts, cycles=self.cycle_results,
                    interrupted=interrupted, faults=faults)
            if self._result is not None:
                self._result.summary, self._result.interrupted = self._summary, interrupted
        finally:
            # The simulator stops with this run: its kubeconfig (and tokens) must not outlive it.
            (self.run_dir / SIM_KUBECONFIG).unlink(missing_ok=True)
            await self._stack.aclose()  # the leases, the hubs' clients, then the run directory's lock
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
        earlier = sum(1 for c in self._earlier_cycles if c.get("verdict") == "damaged")
        self._result = RunResult(self.run_id, self.run_dir, state.successes + state.failures, state.successes,
                                 state.failures, state.stop_reason, damaged=earlier + self._loop.damaged)
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
        """Measure each event as it comes (cycle ends are measured by their commit, not here)."""
        while (event := await queue.get()) is not None:
            self.collector.consume(event)
            if event.type == "alert":
                self.alerts.append({"cycle_id": event.cycle_id, **event.data})
            queue.task_done()
        queue.task_done()


SIM_KUBECONFIG = "sim.kubeconfig"
"""The embedded pair's kubeconfig, in the run directory while the run lives (removed at its end)."""


def _make_run_dir(output_dir: Path, run_id: str) -> Path:
    """``<output_dir>/<run_id>``, mode 0700 (the umask may narrow it); ConfigError if it cannot be made."""
    if output_dir.exists() and not output_dir.is_dir():
        raise ConfigError(f"--output-dir {output_dir} is not a directory")
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        run_dir = output_dir / run_id
        run_dir.mkdir(mode=0o700)
    except OSError as exc:
        raise ConfigError(f"--output-dir {output_dir}: cannot make the run directory: {exc.strerror or exc}") from None
    return run_dir


async def _check_hubs(config: RunConfig) -> set[str]:
    """Both contexts' kubeconfig entries, and each hub's first answer: a refusal that waiting will not
    change (credentials, TLS, no ACM) is a ConfigError; the names of hubs that did not answer are returned
    (the run starts, and its cycles fail until they answer)."""
    assert config.kubeconfig is not None
    assert config.primary_context
    assert config.secondary_context
    unanswered: set[str] = set()
    async with Hub.connect(config.kubeconfig, config.primary_context) as primary, \
            Hub.connect(config.kubeconfig, config.secondary_context) as secondary:
        for hub in (primary, secondary):
            try:
                await first_answer(hub, timeout=config.hub_answer_timeout)
            except HubRefused as exc:
                raise ConfigError(str(exc)) from None
            except HubNotAnswering:
                unanswered.add(hub.name)
    return unanswered


def _check_resumable(run_dir: Path) -> None:
    if not run_dir.is_dir():
        raise ConfigError(f"cannot resume: {run_dir} is not a directory")
    if not (run_dir / "run_state.json").exists():
        raise ConfigError(f"cannot resume: {run_dir} holds no run_state.json")


def _read_manifest(run_dir: Path) -> dict[str, Any] | None:
    try:
        document = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def _load_commit(run_dir: Path) -> tuple[RunState, dict[str, Any] | None]:
    """The run state and the last cycle-end commit in run_state.json; ConfigError if either is damaged."""
    path = run_dir / "run_state.json"
    try:
        document = json.loads(path.read_bytes())
        state = RunState.from_json(document)
    except OSError as exc:
        raise ConfigError(f"cannot resume {run_dir}: cannot read run_state.json: {exc.strerror or exc}") from None
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"cannot resume {run_dir}: run_state.json is damaged ({str(exc).splitlines()[0]})") from None
    committed = document.get("committed")
    if committed is None:
        return state, None
    if (not isinstance(committed, dict) or not isinstance(committed.get("histograms"), dict)
            or not isinstance(committed.get("cycles"), list)
            or not all(isinstance(v, str) for v in committed["histograms"].values())
            or not all(isinstance(c, dict) for c in committed["cycles"])):
        raise ConfigError(f"cannot resume {run_dir}: run_state.json is damaged (its commit is not of the right shape)")
    return state, committed


def _state_dict(state: RunState) -> dict[str, Any]:
    return asdict(state)


_CYCLE_RESULT_KEYS = ("cycle_id", "cycle", "success", "moved_fleet", "duration_s", "error", "primary", "secondary",
                      "verdict", "faults")


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
