"""The cycle loop: switchover after switchover, the hubs swapping roles, under soak controls.

Per cycle, on one event loop: the switchover pipeline, a monitor task per watched kind per hub,
a forwarder that turns pipeline events into engine events (and feeds the cycle's faults, which
also see what the monitors publish), all in one task group; after it, the faults' verdict.
The loop's own progress (next cycle, orientation, counts)
is saved in ``run_state.json`` after every cycle, so a killed run resumes where it was: same
run_id, the interrupted cycle resumed from its state file, no cycle counted twice.

A cycle's end is one commit (:meth:`CycleLoop.commit_cycle_end`): the run state, and whatever the
commit hook adds (the runner adds the histograms and the cycle's end record), in one atomic write;
only then is ``cycle_end`` published.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field, fields
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
from .faults import CycleFaults, FaultJournal, SimControls
from .heap import collect_between_cycles, full_collections_between_cycles
from .monitors import AlertThresholds, MonitorHealth, Monitors
from .permissions import EnginePermissionDenied, require_engine_permissions
from .reachability import HubNotAnswering, HubRefused, first_answers

__all__ = ["CommitHook", "CycleLoop", "CycleOutcome", "CycleRunner", "RunState"]


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
        """The state in ``path`` (extra keys, such as the runner's commit, are left to their readers);
        ValueError if it is not a run state."""
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))

    @classmethod
    def from_json(cls, document: Any) -> RunState:
        if not isinstance(document, dict):
            raise ValueError("not a JSON object")
        known = {f.name: f for f in fields(cls)}
        values = {k: v for k, v in document.items() if k in known}
        for name in ("run_id", "primary", "secondary"):
            if not isinstance(values.get(name), str):
                raise ValueError(f"{name} is missing or not a string")
        for name in ("next_cycle", "successes", "failures"):
            if name in values and (not isinstance(values[name], int) or isinstance(values[name], bool)
                                   or values[name] < (1 if name == "next_cycle" else 0)):
                raise ValueError(f"{name} is not a whole number in range")
        for name in ("started_wall", "elapsed_before", "elapsed_as_of"):
            if not isinstance(values.get(name, 0.0), int | float) or isinstance(values.get(name), bool):
                raise ValueError(f"{name} is not a number")
        if not isinstance(values.get("in_flight"), str | None):
            raise ValueError("in_flight is not a cycle id")
        return cls(**values)

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
    end: dict[str, Any] = field(default_factory=dict)
    """The cycle's end record (the ``cycle_end`` event's data), published once its commit is on disk."""
    verdict: str | None = None
    """recovered, failed-safe or damaged after a cycle with faults (engine.faults.verdict)."""


CommitHook = Callable[[RunState, CycleOutcome | None], Awaitable[None]]
"""Writes the run state durably; with an outcome, as the one atomic commit of that cycle's end."""

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
                 run_cycle: CycleRunner | None = None, commit: CommitHook | None = None,
                 sim: SimControls | None = None) -> None:
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
        self._commit = commit or self._save_state_only
        self.sim = sim
        """The embedded pair's controls, for the fault scenarios that need the simulator."""
        self.journal = FaultJournal(run_dir / "fault_journal.jsonl")
        self.damaged = 0
        """Cycles of this process judged damaged."""
        self._stop = asyncio.Event()
        self._monitors: Monitors | None = None
        self._log = structlog.get_logger("asyncswitch.engine")
        self._clock = asyncio.get_running_loop().time
        self._resuming = False
        self._process_started = self._clock()
        state.elapsed_as_of = time.time()

    def request_stop(self) -> None:
        """Start no new cycle (a cycle in flight finishes)."""
        self._stop.set()

    def monitor_health(self) -> list[MonitorHealth]:
        """The health of the cycle in flight's monitors (none between cycles)."""
        return list(self._monitors.health.values()) if self._monitors is not None else []

    def publish(self, record_type: str, cycle_id: str | None = None, /, **data: Any) -> None:
        self.bus.publish(EngineEvent(record_type, self.state.run_id, cycle_id, data))

    def _fault_record(self, kind: str, cycle_id: str, data: dict[str, Any]) -> None:
        """Publish a fault's record, and say it in the log too: with --no-progress (or JSON logs in a pod)
        the log is all a person watching the run sees."""
        self.publish(kind, cycle_id, **data)
        what = _FAULT_LOG_LINES.get(kind)
        if what is not None:
            fields = {k: data[k] for k in ("scenario", "target", "hub", "phase", "reason", "verdict", "acted",
                                           "success", "message") if k in data}
            log = self._log.warning if kind == "fault_skipped" or data.get("success") is False else self._log.info
            log(what, **fields)

    @property
    def _state_path(self) -> Path:
        return self.run_dir / "run_state.json"

    def _elapsed(self) -> float:
        return self.state.elapsed_before + (self._clock() - self._process_started)

    async def _save_state_only(self, state: RunState, outcome: CycleOutcome | None) -> None:
        # fsync'ed file I/O: off the loop, which the monitors and the pipeline share.
        await asyncio.to_thread(state.save, self._state_path)

    async def _save(self) -> None:
        await asyncio.shield(self._commit(self.state, None))

    async def commit_cycle_end(self, outcome: CycleOutcome) -> None:
        """Count the ended cycle in the run state and commit it, then publish its ``cycle_end``.

        The one place a cycle is counted: a kill before the commit's rename leaves the cycle in flight
        (resumed, counted once), a kill after it leaves it counted (the runner re-publishes a
        ``cycle_end`` that did not reach metrics.jsonl). Shielded, so Ctrl-C cannot cut it in half."""
        state = self.state
        state.in_flight = None
        state.next_cycle += 1
        if outcome.success:
            state.successes += 1
        else:
            state.failures += 1
        if outcome.moved:
            state.primary, state.secondary = state.secondary, state.primary
        self._fold_elapsed()
        await asyncio.shield(self._commit(state, outcome))
        self.publish("cycle_end", outcome.cycle_id, **outcome.end)

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
            self.damaged += outcome.verdict == "damaged"
            if not outcome.end:
                outcome.end = {"cycle": state.next_cycle, "success": outcome.success, "moved_fleet": outcome.moved,
                               "duration_s": outcome.duration_s, "error": outcome.error}
            await self.commit_cycle_end(outcome)
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
        self._resuming = False
        # Bound here, the cycle id reaches every log line of the cycle: the pipeline's, and those of the
        # monitors and injector tasks, which copy this context when they are created.
        with structlog.contextvars.bound_contextvars(cycle_id=cycle_id):
            self._log.info("cycle started", cycle=number, primary=self.state.primary, secondary=self.state.secondary)
            try:
                outcome = await self._cycle(number)
            except Exception as exc:  # recorded with its traceback; --max-failures bounds the run
                error = _describe_failure(exc)
                self._log.error("cycle failed outside the pipeline", error=error,
                                exc_info=None if _about_a_hub(exc) else exc)
                duration = time.monotonic() - started
                return CycleOutcome(cycle_id, False, False, duration, error, end={
                    "cycle": number, "success": False, "moved_fleet": False, "duration_s": duration, "error": error,
                    "primary": self.state.primary, "secondary": self.state.secondary,
                    "resumed": self.state.in_flight == cycle_id and self._resuming})
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
        self._resuming = resuming
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
        async with Hub.connect(self.kubeconfig, primary) as old, Hub.connect(self.kubeconfig, secondary) as new:
            # A hub that does not answer fails the cycle within this bound, instead of its monitors
            # retrying their first list for ever.
            await first_answers((old, new), timeout=config.hub_answer_timeout)
            await require_engine_permissions(old, new, faults=bool(config.inject_failure))
            faults = await CycleFaults.open(config, cycle_id=cycle_id, new=new, old=old, sim=self.sim, rng=self.rng,
                                            publish=lambda kind, data: self._fault_record(kind, cycle_id, data),
                                            journal=self.journal)

            def monitored(kind: str, data: dict[str, Any]) -> None:
                self.publish(kind, cycle_id, **data)
                if faults is not None:
                    faults.saw(kind, data)  # state triggers: what the monitors see

            monitors = Monitors({old.name: old, new.name: new}, publish=monitored,
                                thresholds=AlertThresholds(), new_hub=new.name,
                                activation_started=lambda: activation_started[0] if activation_started else None)
            self._monitors = monitors  # read by monitor_health() while the cycle runs
            try:
                async with asyncio.TaskGroup() as tg:
                    if faults is not None:
                        faults.start(tg)
                    try:
                        await monitors.run(task_group=tg, first_list_timeout=config.hub_answer_timeout)
                        tg.create_task(self._forward(events, cycle_id, activation_started, faults),
                                       name=f"forwarder:{cycle_id}")
                        report = await run_switchover(
                            primary=old, secondary=new, options=options, state_path=cycle_dir / "state.json",
                            resume=resuming, events=events)  # type: ignore[arg-type]
                    finally:
                        events.put_nowait(None)
                        monitors.close()
                        self._monitors = None
                        # The switchover is over: holds end now, so they do not stretch the cycle's
                        # measured duration or outlive the monitors.
                        if faults is not None:
                            faults.cut_short()
            finally:
                if faults is not None:
                    await faults.close()  # shielded: every fault still held is rolled back, Ctrl-C or not
            duration = time.monotonic() - started_m
            success, error = report.success, report.error
            verdict = None
            if faults is not None:
                missing = faults.not_injected()
                if config.require_injection and missing:
                    success = False
                    error = "; ".join([*([error] if error else []), *(f"--require-injection: {m}" for m in missing)])
                verdict = (await faults.judge(success=report.success)).verdict
        phases = [r.to_json() for r in report.results]
        activated = any(r.phase == "activation" and r.outcome == "succeeded" for r in report.results)
        moved = not config.dry_run and (report.success or activated or report.already_completed)
        outcome = CycleOutcome(cycle_id, success, moved, duration, error, phases, verdict=verdict)
        result = {"cycle_id": cycle_id, "cycle": number, "primary": primary, "secondary": secondary,
                  "success": success, "moved_fleet": moved, "error": error,
                  "started_wall": started_w, "duration_s": duration, "phases": phases,
                  "monitors": [h.to_json() for h in monitors.health.values()],
                  "resumed": resuming, "already_completed": report.already_completed,
                  **(faults.to_json() if faults is not None else {})}
        await asyncio.to_thread(write_json_atomic, cycle_dir / "result.json", result)
        outcome.end = {"cycle": number, "success": success, "moved_fleet": moved, "duration_s": duration,
                       "error": error, "primary": primary, "secondary": secondary, "resumed": resuming,
                       **(faults.to_json() if faults is not None else {})}
        return outcome

    async def _forward(self, events: asyncio.Queue[SwitchoverEvent | None], cycle_id: str,
                       activation_started: list[float], faults: CycleFaults | None) -> None:
        """Pipeline events → engine events; the faults see each phase start (phase triggers)."""
        phase_started: dict[str, float] = {}
        while (event := await events.get()) is not None:
            if event.kind == "phase_started":
                phase_started[event.phase] = event.monotonic
                if event.phase == "activation" and not activation_started:
                    activation_started.append(event.monotonic)
                self.publish("phase_start", cycle_id, phase=event.phase)
                if faults is not None:
                    faults.phase_started(event.phase)
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


_FAULT_LOG_LINES = {"fault_injected": "fault injected", "fault_skipped": "fault skipped",
                    "fault_rolled_back": "fault rolled back", "cycle_verdict": "cycle verdict"}


def _about_a_hub(exc: BaseException) -> bool:
    """A hub that did not answer or refused: its one line says it all, a traceback would bury it."""
    if isinstance(exc, BaseExceptionGroup):
        return all(_about_a_hub(e) for e in exc.exceptions)
    return isinstance(exc, HubNotAnswering | HubRefused | EnginePermissionDenied)


def _describe_failure(exc: BaseException) -> str:
    """One line per leaf error of an exception group."""
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_describe_failure(e) for e in exc.exceptions)
    if isinstance(exc, HubNotAnswering | HubRefused):
        return str(exc)  # already one line that names the hub
    return f"{type(exc).__name__}: {exc}".splitlines()[0]
