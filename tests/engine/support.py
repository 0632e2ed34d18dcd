"""What the engine tests share: runs through the library API against an in-process simulated pair,
``python -m asyncswitch run`` as a child process, and readers for a run's artifacts."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncGenerator, Callable, Iterable
from contextlib import aclosing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from asyncswitch.config import RunConfig
from asyncswitch.engine import EngineEvent
from asyncswitch.runner import Engine, RunResult
from asyncswitch.sim.acm import SimConfig, profile_named

from ..subprocesses import Finished, WhileRunning, run_asyncswitch

T = TypeVar("T")

DEADLINE = 60.0
"""Real seconds any one run of these tests may take (a 3-cycle fast run takes about 8 s)."""

CYCLE_SCOPED = frozenset({"cycle_start", "phase_start", "phase_result", "cycle_end", "step", "wait", "check",
                          "warning", "watch_event", "cluster_reconnected", "alert", "fault_injected",
                          "fault_rolled_back", "reaction", "backup_set_stable"})
"""Record types that belong to one cycle and must carry its cycle_id."""


def instant_pair(clusters: int = 5, **knobs: Any) -> SimConfig:
    """A small simulated pair on the instant profile (a cycle takes about half a second)."""
    return SimConfig(clusters=clusters, profile=profile_named("instant"), seed=1, **knobs)


def run_config(tmp_path: Path, **options: Any) -> RunConfig:
    """A RunConfig for the embedded pair that writes under ``tmp_path/runs``."""
    return RunConfig(output_dir=tmp_path / "runs", sim_clusters=5, sim_profile="instant", progress=False,
                     **options)


@dataclass
class Run:
    """A finished run through the library API and every engine event it published."""

    result: RunResult
    events: list[EngineEvent] = field(default_factory=list)

    def of(self, *types: str) -> list[EngineEvent]:
        return [e for e in self.events if e.type in types]

    def cycle_starts(self) -> list[tuple[str | None, str, str]]:
        return [(e.cycle_id, e.data["primary"], e.data["secondary"]) for e in self.of("cycle_start")]

    def cycle_ends(self) -> list[tuple[str | None, bool]]:
        return [(e.cycle_id, e.data["success"]) for e in self.of("cycle_end")]


OnEvent = Callable[[Engine, EngineEvent], None]


async def run_engine(config: RunConfig, pair: Any, *, on_event: OnEvent | None = None,
                     timeout: float = DEADLINE) -> Run:  # noqa: ASYNC109
    """``async with Engine(config, hub_pair=pair) as engine: await engine.run()``, with every event
    collected (and handed to ``on_event`` as it comes) by a task that subscribed before the run."""
    collected: list[EngineEvent] = []

    async def consume(engine: Engine, stream: AsyncGenerator[EngineEvent, None]) -> None:
        async with aclosing(stream) as events:
            async for event in events:
                collected.append(event)
                if on_event is not None:
                    on_event(engine, event)

    # The consumer's task group encloses the engine: the engine's exit ends the event stream.
    async with asyncio.timeout(timeout), asyncio.TaskGroup() as tg, Engine(config, hub_pair=pair) as engine:
        tg.create_task(consume(engine, engine.events()), name="test:events")  # subscribed here, before the run
        result = await engine.run()
    return Run(result, collected)


def after_cycle(cycle_id: str, action: Callable[[Engine], None]) -> OnEvent:
    """An ``on_event`` that calls ``action`` once, when ``cycle_id`` ends."""

    def on_event(engine: Engine, event: EngineEvent) -> None:
        if event.type == "cycle_end" and event.cycle_id == cycle_id:
            action(engine)

    return on_event


def on_each(*handlers: OnEvent) -> OnEvent:
    def on_event(engine: Engine, event: EngineEvent) -> None:
        for handler in handlers:
            handler(engine, event)

    return on_event


# -- artifacts ----------------------------------------------------------------------------------

def records(run_dir: Path) -> list[dict[str, Any]]:
    """Every record of metrics.jsonl (each line must be a whole JSON object)."""
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def read_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def of_type(found: Iterable[dict[str, Any]], *types: str) -> list[dict[str, Any]]:
    return [r for r in found if r["type"] in types]


def only_run_dir(output_dir: Path) -> Path:
    runs = sorted(output_dir.iterdir())
    assert len(runs) == 1, f"expected one run directory in {output_dir}, found {[p.name for p in runs]}"
    return runs[0]


# -- python -m asyncswitch run as a real process --------------------------------------------------

async def run_cli(cwd: Path, *args: str, timeout: float = DEADLINE,  # noqa: ASYNC109
                  while_running: WhileRunning | None = None) -> Finished:
    """``python -m asyncswitch *args`` in ``cwd``; killed if it outlives the deadline or the test."""
    return await run_asyncswitch(cwd, *args, timeout=timeout, while_running=while_running)


async def poll(check: Callable[[], T | None], *, description: str, timeout: float = DEADLINE,  # noqa: ASYNC109
               interval: float = 0.02) -> T:
    """Wait for a file another process writes: re-check every ``interval`` seconds until ``timeout``.

    Only for artifacts of a child process, which no watch can observe."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {description}")
        await asyncio.sleep(interval)


def run_state(output_dir: Path) -> tuple[Path, dict[str, Any]] | None:
    """The run directory under ``output_dir`` and its run_state.json, once both exist and parse."""
    for path in output_dir.glob("run-*/run_state.json"):
        try:
            return path.parent, read_json(path)
        except (OSError, ValueError):
            return None  # replaced while read
    return None
