"""The cycle loop: switchover after switchover, the hubs swapping roles, under soak controls.

Per cycle, on one event loop: the switchover pipeline, a monitor task per watched kind per hub,
a forwarder that turns pipeline events into engine events (and fires the fault injector at
its phase), all in one task group. The loop's own progress (next cycle, orientation, counts)
is saved in ``run_state.json`` after every cycle, so a killed run resumes where it was: same
run_id, the interrupted cycle resumed from its state file, no cycle counted twice.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import structlog

from ..config import RunConfig
from ..files import write_json_atomic
from ..kube import VELERO_BACKUPS, Hub, HubApiError, ResourceCache, WaitTimeout
from ..switchover import SwitchoverEvent, SwitchoverOptions, run_switchover
from ..switchover.facts import backup_type, phase
from ..switchover.names import BACKUP_NAMESPACE
from ..switchover.options import Method
from .bus import EventBus
from .events import EngineEvent
from .faults import FaultInjector
from .heap import collect_between_cycles, full_collections_between_cycles
from .monitors import AlertThresholds, Monitors

__all__ = ["CycleLoop", "CycleOutcome", "CycleRunner", "RunState"]


@dataclass
class RunState:
    """The loop's progress, saved after every cycle (and when a cycle starts)."""

    run_id: str
    primary: str
    secondary: str
    started_wall: float
    next_cycle: int = 1
    successes: int = 0
    failures: int = 0
    in_flight: str | None = None
    """The cycle that started and has not ended: a resume continues it from its state file."""
    finished: bool = False
    stop_reason: str | None = None
    elapsed_before: float = 0.0
    """Seconds this run has spent, as of ``elapsed_as_of`` (resumes count toward --run-hours)."""
    elapsed_as_of: float = 0.0
    """Wall time at which ``elapsed_before`` was brought up to date. A resumed run adds the time from
    here to the last record of the process that was killed."""

    @classmethod
    def load(cls, path: Path) -> RunState:
        return cls(**json.loads(path.read_text()))

    def save(self, path: Path) -> None:
        write_json_atomic(path, asdict(self))


@dataclass
class CycleOutcome:
    cycle_id: str
    success: bool
    moved: bool
    duration_s: float
    error: str | None
    phases: list[dict[str, Any]] = field(default_factory=list)


CycleRunner = Callable[[int], Awaitable[CycleOutcome]]
"""Runs cycle number N and says how it went; a failure is an outcome, not an exception."""


class CycleLoop:
    """The soak controls around the cycles: which cycle runs next and whether one runs at all
    (--cycles, --run-hours, --max-failures, --stop-on-failure, --cooldown, request_stop), the hubs'
    orientation, and the run state saved between cycles.

    ``run_cycle`` runs one cycle; by default a switchover cycle between the configured hubs (below).
    Soak timings are read from the event loop's clock, so they can be tested on virtual time.
    """

    def __init__(self, config: RunConfig, *, run_dir: Path, state: RunState, bus: EventBus,
                 run_cycle: CycleRunner | None = None) -> None:
        assert config.kubeconfig is not None
        assert config.primary_context
        assert config.secondary_context
        self.config = config
        self.kubeconfig = config.kubeconfig
        self.run_dir = run_dir
        self.state = state
        self.bus = bus
        self.rng = random.Random(config.seed)
        self._run_cycle = run_cycle or self._guarded_cycle
        self._stop = asyncio.Event()
        self._log = structlog.get_logger("asyncswitch.engine")
        self._clock = asyncio.get_running_loop().time
        self._process_started = self._clock()
        state.elapsed_as_of = time.time()

    def request_stop(self) -> None:
        """Start no new cycle (a cycle in flight finishes)."""
        self._stop.set()

    def publish(self, record_type: str, cycle_id: str | None = None, /, **data: Any) -> None:
        self.bus.publish(EngineEvent(record_type, self.state.run_id, cycle_id, data))

    @property
    def _state_path(self) -> Path:
        return self.run_dir / "run_state.json"

    def _elapsed(self) -> float:
        return self.state.elapsed_before + (self._clock() - self._process_started)

    async def _save(self) -> None:
        # fsync'ed file I/O: off the loop, which the monitors and the pipeline share.
        await asyncio.to_thread(self.state.save, self._state_path)

    async def run(self) -> RunState:
        with full_collections_between_cycles(self.config.gc_between_cycles):
            return await self._run()

    async def _run(self) -> RunState:
        state, config = self.state, self.config
        while not self._stop.is_set():
            if state.next_cycle > config.cycles:
                state.stop_reason = "cycles done"
                break
            if self._out_of_time():
                state.stop_reason = "run hours reached"
                break
            outcome = await self._run_cycle(state.next_cycle)
            state.in_flight = None
            state.next_cycle += 1
            if outcome.success:
                state.successes += 1
            else:
                state.failures += 1
            if outcome.moved:
                state.primary, state.secondary = state.secondary, state.primary
            self._fold_elapsed()
            await self._save()
            if config.gc_between_cycles:
                collect_between_cycles()
            if not outcome.success and config.stop_on_failure:
                state.stop_reason = "stop on failure"
                break
            if config.max_failures is not None and state.failures >= config.max_failures:
                state.stop_reason = "max failures reached"
                break
            if state.next_cycle > config.cycles or self._out_of_time():
                continue  # no next cycle: no wait for one
            if outcome.success and outcome.moved and config.method is Method.FULL and not config.dry_run:
                await self._backup_set_stable(outcome.cycle_id, state.primary)
            if config.cooldown:
                try:
                    async with asyncio.timeout(config.cooldown):
                        await self._stop.wait()  # the cooldown ends early only when a stop is asked
                except TimeoutError:
                    pass
        if state.stop_reason is None:
            state.stop_reason = "stopped"
        state.finished = True
        self._fold_elapsed()
        await self._save()
        return state

    def _out_of_time(self) -> bool:
        return self.config.run_hours is not None and self._elapsed() >= self.config.run_hours * 3600

    def _fold_elapsed(self) -> None:
        """Bring the saved elapsed time up to now (it counts toward --run-hours across resumes)."""
        self.state.elapsed_before, self._process_started = self._elapsed(), self._clock()
        self.state.elapsed_as_of = time.time()

    async def _guarded_cycle(self, number: int) -> CycleOutcome:
        """A cycle whose task group fails (a monitor's watch refused, a hub gone mid-cycle, a bug) is a
        failed cycle with its cause recorded; the run goes on under its soak controls."""
        started = time.monotonic()
        cycle_id = f"cycle-{number:04d}"
        # Bound here, the cycle id reaches every log line of the cycle: the pipeline's, and those of the
        # monitors and injector tasks, which copy this context when they are created.
        with structlog.contextvars.bound_contextvars(cycle_id=cycle_id):
            self._log.info("cycle started", cycle=number, primary=self.state.primary, secondary=self.state.secondary)
            try:
                outcome = await self._cycle(number)
            except Exception as exc:  # recorded with its traceback; --max-failures bounds the run
                error = _describe_failure(exc)
                self._log.error("cycle failed outside the pipeline", error=error, exc_info=exc)
                self.publish("cycle_end", cycle_id, cycle=number, success=False, moved_fleet=False,
                             duration_s=time.monotonic() - started, error=error,
                             primary=self.state.primary, secondary=self.state.secondary)
                return CycleOutcome(cycle_id, False, False, time.monotonic() - started, error)
            log = self._log.info if outcome.success else self._log.warning
            log("cycle ended", success=outcome.success, duration_s=round(outcome.duration_s, 3), error=outcome.error)
            return outcome

    async def _cycle(self, number: int) -> CycleOutcome:
        state, config = self.state, self.config
        cycle_id = f"cycle-{number:04d}"
        cycle_dir = self.run_dir / "cycles" / cycle_id
        cycle_dir.mkdir(parents=True, exist_ok=True)
        # Resume the cycle from its state file; with none (killed before the pipeline wrote it, or
        # removed because the hubs are new) the cycle starts over.
        resuming = state.in_flight == cycle_id and (cycle_dir / "state.json").exists()
        state.in_flight = cycle_id
        await self._save()
        primary, secondary = state.primary, state.secondary
        started_m, started_w = time.monotonic(), time.time()
        self.publish("cycle_start", cycle_id, cycle=number, primary=primary, secondary=secondary, resumed=resuming)
        options = SwitchoverOptions(method=config.method, old_hub_action=config.old_hub_action,
                                    activation_method=config.activation_method, dry_run=config.dry_run,
                                    min_managed_clusters=config.min_managed_clusters, timeouts=config.timeouts,
                                    min_cluster_share=config.min_cluster_share,
                                    manage_auto_import_strategy=config.manage_auto_import_strategy,
                                    argocd=config.argocd)
        activation_started: list[float] = []
        events: asyncio.Queue[SwitchoverEvent | None] = asyncio.Queue()
        injectors: list[asyncio.Task[None]] = []
        async with Hub.connect(self.kubeconfig, primary) as old, Hub.connect(self.kubeconfig, secondary) as new:
            monitors = Monitors({old.name: old, new.name: new},
                                publish=lambda kind, data: self.publish(kind, cycle_id, **data),
                                thresholds=AlertThresholds(), new_hub=new.name,
                                activation_started=lambda: activation_started[0] if activation_started else None)
            async with asyncio.TaskGroup() as tg:
                try:
                    await monitors.run(task_group=tg)
                    tg.create_task(self._forward(events, cycle_id, activation_started, tg, new, old, injectors),
                                   name=f"forwarder:{cycle_id}")
                    report = await run_switchover(
                        primary=old, secondary=new, options=options, state_path=cycle_dir / "state.json",
                        resume=resuming, events=events)  # type: ignore[arg-type]
                finally:
                    events.put_nowait(None)
                    monitors.close()
                    # The switchover is over: a fault still held is rolled back now (shielded), so its
                    # hold does not stretch the cycle's measured duration or outlive the monitors.
                    for injector in injectors:
                        injector.cancel()
        duration = time.monotonic() - started_m
        phases = [r.to_json() for r in report.results]
        activated = any(r.phase == "activation" and r.outcome == "succeeded" for r in report.results)
        moved = not config.dry_run and (report.success or activated or report.already_completed)
        outcome = CycleOutcome(cycle_id, report.success, moved, duration, report.error, phases)
        result = {"cycle_id": cycle_id, "cycle": number, "primary": primary, "secondary": secondary,
                  "success": report.success, "moved_fleet": moved, "error": report.error,
                  "started_wall": started_w, "duration_s": duration, "phases": phases,
                  "monitors": [h.to_json() for h in monitors.health.values()],
                  "resumed": resuming, "already_completed": report.already_completed}
        await asyncio.to_thread(write_json_atomic, cycle_dir / "result.json", result)
        self.publish("cycle_end", cycle_id, cycle=number, success=report.success, moved_fleet=moved,
                     duration_s=duration, error=report.error, primary=primary, secondary=secondary)
        return outcome

    async def _forward(self, events: asyncio.Queue[SwitchoverEvent | None], cycle_id: str,
                       activation_started: list[float], tg: asyncio.TaskGroup, new: Hub, old: Hub,
                       injectors: list[asyncio.Task[None]]) -> None:
        """Pipeline events → engine events; starts the fault injector at its phase."""
        injected = False
        phase_started: dict[str, float] = {}
        while (event := await events.get()) is not None:
            if event.kind == "phase_started":
                phase_started[event.phase] = event.monotonic
                if event.phase == "activation" and not activation_started:
                    activation_started.append(event.monotonic)
                self.publish("phase_start", cycle_id, phase=event.phase)
                if (self.config.inject_failure and not injected and not self.config.dry_run
                        and event.phase == self.config.inject_at_phase):
                    injected = True
                    injector = FaultInjector(scenario=self.config.inject_failure, new_hub=new, old_hub=old,
                                             hold=self.config.fault_hold, rng=self.rng,
                                             publish=lambda kind, data: self.publish(kind, cycle_id, **data),
                                             # any phase past preflight (a resumed cycle may start later)
                                             primary_prepared=lambda: any(p != "preflight" for p in phase_started))
                    injectors.append(tg.create_task(injector.run(), name=f"injector:{cycle_id}"))
            elif event.kind == "phase_finished":
                # A failed phase's event carries no duration: measure it from the phase's start.
                duration = event.detail.get("duration")
                if duration is None:
                    duration = event.monotonic - phase_started.get(event.phase, event.monotonic)
                self.publish("phase_result", cycle_id, phase=event.phase,
                             outcome=event.detail.get("outcome"), error=event.detail.get("error"),
                             duration_s=float(duration))
            elif event.kind in ("wait_started", "wait_satisfied"):
                self.publish("wait", cycle_id, phase=event.phase, name=event.name, hub=event.hub,
                             event="started" if event.kind == "wait_started" else "satisfied",
                             waited=event.detail.get("waited"))
            elif event.kind in ("step_started", "step_finished", "step_skipped"):
                self.publish("step", cycle_id, phase=event.phase, name=event.name, event=event.kind[5:],
                             duration_s=event.detail.get("duration"))
            elif event.kind in ("warning", "check", "dry_run"):
                self.publish(event.kind, cycle_id, phase=event.phase, name=event.name, **event.detail)

    async def _backup_set_stable(self, cycle_id: str, hub_name: str) -> None:
        """Full method: the next cycle restores "latest"; wait until the new primary's backup set is
        complete (a Completed backup of each type, none running). A wait that fails is recorded and
        the run goes on: the next cycle's preflight judges the backups it finds."""
        started = time.monotonic()

        def complete(backups: Any) -> bool:
            owned = [b for b in backups.values() if backup_type(b)]
            if any(phase(b) in ("New", "InProgress", "Finalizing") for b in owned):
                return False
            done = {backup_type(b) for b in owned if phase(b) == "Completed"}
            return {"managedClusters", "credentials", "resources"} <= done

        try:
            async with Hub.connect(self.kubeconfig, hub_name) as hub, \
                    ResourceCache(hub, VELERO_BACKUPS, namespace=BACKUP_NAMESPACE) as cache:
                await cache.wait_for(complete, timeout=self.config.full_backup_stability,
                                     description=f"a complete, settled backup set on {hub_name}")
        except (WaitTimeout, HubApiError) as exc:
            self.publish("warning", cycle_id, name="backup_set_stable", hub=hub_name, message=str(exc))
            return
        self.publish("backup_set_stable", cycle_id, hub=hub_name, waited_s=time.monotonic() - started)


def _describe_failure(exc: BaseException) -> str:
    """One line per leaf error of an exception group."""
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_describe_failure(e) for e in exc.exceptions)
    return f"{type(exc).__name__}: {exc}"
