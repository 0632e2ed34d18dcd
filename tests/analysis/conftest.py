"""Real runs, made once for the analysis tests through the library API on simulated pairs:

- ``runs``: two 2-cycle runs on the instant profile, one whose cycles all succeed and one whose
  second cycle fails its preflight;
- ``timed``: three 8-cycle runs on a shortened fast profile, made side by side in one event loop (so
  that whatever loads the machine loads all three alike): seeds 1 and 2 of the same inputs, and a
  candidate whose simulated Velero restores are forty times slower;
- ``resumed``: a run of three cycles made by three processes' worth of engines (resumed twice);
- ``faulted``: three cycles on the instant profile with a backup schedule paused at each preflight.

Tests that damage a run work on a copy (see ``support.copy_run``)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest
import pytest_asyncio

from asyncswitch.config import RunConfig
from asyncswitch.runner import Engine
from asyncswitch.sim import FaultRule
from asyncswitch.sim.acm import SimConfig, SimulatedHubPair, TimingProfile, profile_named

from ..engine.support import after_cycle, instant_pair, run_config, run_engine
from .support import Runs, Timed

REFUSE_NAMESPACES = FaultRule(verb="list", resource="namespaces", error_rate=1.0, status=403, id="no-namespaces")
"""Preflight's first question to each hub is a namespace list: refused, the cycle fails its preflight."""

TIMED_CYCLES = 8
"""Enough for a rank test to see a difference after Holm's adjustment (6 against 6 is the least)."""
TIMED_PROFILE = replace(profile_named("fast"), reconnect_min=5.0, reconnect_mode=10.0, reconnect_max=20.0,
                        mch_pending=10.0)
"""The fast profile (200 simulated seconds a second, ±20 % jitter) with reconnects and the
MultiClusterHub's Pending cut short: a cycle takes about half a second."""
SLOWER_RESTORES = replace(TIMED_PROFILE, restore_items_per_second=TIMED_PROFILE.restore_items_per_second / 40)


@pytest_asyncio.fixture(scope="package", loop_scope="package")
async def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    tmp = tmp_path_factory.mktemp("analysis")
    async with SimulatedHubPair(instant_pair()) as pair:
        passed = await run_engine(run_config(tmp / "passed", cycles=2), pair)

        # The pair is back to hub-a active: cycle 1 goes hub-a → hub-b, then hub-a refuses the
        # preflight of cycle 2 (hub-b → hub-a).
        def refuse(engine: Engine) -> None:
            pair.hub_a.faults.add(REFUSE_NAMESPACES)

        failed = await run_engine(run_config(tmp / "failed", cycles=2), pair,
                                  on_event=after_cycle("cycle-0001", refuse))
    assert (passed.result.successes, passed.result.failures) == (2, 0)
    assert (failed.result.successes, failed.result.failures) == (1, 1)
    return Runs(passed=passed.result.run_dir, failed=failed.result.run_dir)


async def _timed_run(output: Path, profile: TimingProfile, seed: int) -> Path:
    async with SimulatedHubPair(SimConfig(clusters=5, profile=profile, seed=seed)) as pair:
        config = RunConfig(output_dir=output, cycles=TIMED_CYCLES, sim_clusters=5, sim_profile="fast", seed=seed,
                           progress=False)
        run = await run_engine(config, pair)
    assert run.result.successes == TIMED_CYCLES
    return run.result.run_dir


@pytest_asyncio.fixture(scope="package", loop_scope="package")
async def timed(tmp_path_factory: pytest.TempPathFactory) -> Timed:
    tmp = tmp_path_factory.mktemp("timed")
    seed_1, seed_2, slower = await asyncio.gather(_timed_run(tmp / "seed-1", TIMED_PROFILE, 1),
                                                  _timed_run(tmp / "seed-2", TIMED_PROFILE, 2),
                                                  _timed_run(tmp / "slower", SLOWER_RESTORES, 3))
    return Timed(seed_1=seed_1, seed_2=seed_2, slower_restores=slower)


@pytest_asyncio.fixture(scope="package", loop_scope="package")
async def resumed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cycle, then ``--resume`` to two cycles, then to three: each process on a fresh pair, as
    ``run --resume`` brings up its own embedded hubs."""
    tmp = tmp_path_factory.mktemp("resumed")
    run_dir: Path | None = None
    for cycles in (1, 2, 3):
        async with SimulatedHubPair(instant_pair()) as pair:
            config = run_config(tmp, cycles=cycles, resume=run_dir)
            run_dir = (await run_engine(config, pair)).result.run_dir
    assert run_dir is not None
    return run_dir


@pytest_asyncio.fixture(scope="package", loop_scope="package")
async def faulted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("faulted")
    async with SimulatedHubPair(instant_pair()) as pair:
        run = await run_engine(run_config(tmp, cycles=3, inject_failure="pause-backup", inject_at_phase="preflight",
                                          fault_hold=0.2), pair)
    assert run.result.successes == 3
    return run.result.run_dir
