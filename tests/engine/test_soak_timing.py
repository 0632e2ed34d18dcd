"""Cooldowns and --run-hours on virtual time (looptime): hours of soak in no real time.

The cycle loop runs its soak controls around a cycle runner; here the runner is a stand-in whose
cycles take a given number of (virtual) minutes, so the tests are about the controls alone. The
same controls around real switchover cycles are tested in test_soak_controls.py."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from asyncswitch.config import RunConfig
from asyncswitch.engine import CycleLoop, CycleOutcome, EventBus, RunState

MINUTE = 60.0


class TimedCycles:
    """A cycle runner whose cycles take ``minutes`` each on the loop's clock and all move the fleet."""

    def __init__(self, minutes: float) -> None:
        self.seconds = minutes * MINUTE
        self.started: list[float] = []
        """Loop time at each cycle's start, relative to the first."""

    async def __call__(self, number: int) -> CycleOutcome:
        loop = asyncio.get_running_loop()
        self.started.append(loop.time())
        await asyncio.sleep(self.seconds)
        return CycleOutcome(f"cycle-{number:04d}", success=True, moved=True, duration_s=self.seconds, error=None)

    @property
    def starts_in_minutes(self) -> list[float]:
        return [round((t - self.started[0]) / MINUTE, 3) for t in self.started]


def soak(tmp_path: Path, runner: TimedCycles, *, elapsed_before: float = 0.0, **options: object) -> CycleLoop:
    config = RunConfig(kubeconfig=tmp_path / "unused.kubeconfig", primary_context="hub-a", secondary_context="hub-b",
                       **options)  # type: ignore[arg-type]
    state = RunState(run_id="run-test", primary="hub-a", secondary="hub-b", started_wall=0.0,
                     elapsed_before=elapsed_before)
    return CycleLoop(config, run_dir=tmp_path, state=state, bus=EventBus(), run_cycle=runner)


@pytest.mark.looptime
async def test_an_hour_of_cooldown_separates_each_cycle_from_the_next(tmp_path: Path) -> None:
    cycles = TimedCycles(minutes=10)

    state = await soak(tmp_path, cycles, cycles=3, cooldown=3600.0).run()

    assert cycles.starts_in_minutes == [0, 70, 140]
    assert (state.successes, state.stop_reason) == (3, "cycles done")
    assert (state.primary, state.secondary) == ("hub-b", "hub-a")  # three swaps


@pytest.mark.looptime
async def test_no_cycle_starts_after_the_run_hours_and_the_one_in_flight_finishes(tmp_path: Path) -> None:
    cycles = TimedCycles(minutes=50)

    state = await soak(tmp_path, cycles, cycles=10, run_hours=2.0).run()

    # Starts at 0, 50 and 100 minutes; the third ends at 150, past the 120 of the limit: no fourth.
    assert cycles.starts_in_minutes == [0, 50, 100]
    assert (state.successes, state.next_cycle, state.stop_reason) == (3, 4, "run hours reached")
    assert state.elapsed_before == pytest.approx(150 * MINUTE)


@pytest.mark.looptime
async def test_the_cooldown_counts_toward_the_run_hours(tmp_path: Path) -> None:
    cycles = TimedCycles(minutes=20)

    state = await soak(tmp_path, cycles, cycles=10, run_hours=1.0, cooldown=30 * MINUTE).run()

    # 0-20, cooldown to 50, 50-70: past the hour, so no second cooldown waits for a cycle that cannot start.
    assert cycles.starts_in_minutes == [0, 50]
    assert state.stop_reason == "run hours reached"
    assert state.elapsed_before == pytest.approx(70 * MINUTE)


@pytest.mark.looptime
async def test_a_resumed_run_has_only_the_rest_of_its_hours(tmp_path: Path) -> None:
    cycles = TimedCycles(minutes=50)

    state = await soak(tmp_path, cycles, cycles=10, run_hours=2.0, elapsed_before=60 * MINUTE).run()

    # 60 minutes were spent before this process: cycles at 0 and 50 bring it to 160 > 120.
    assert cycles.starts_in_minutes == [0, 50]
    assert state.elapsed_before == pytest.approx(160 * MINUTE)
