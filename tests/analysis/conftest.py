"""Two real runs, made once for the analysis tests through the library API on a simulated pair:
one whose cycles all succeed and one whose second cycle fails its preflight. Tests that damage a
run work on a copy (see ``support.copy_run``)."""

from __future__ import annotations

import pytest
import pytest_asyncio

from asyncswitch.runner import Engine
from asyncswitch.sim import FaultRule
from asyncswitch.sim.acm import SimulatedHubPair

from ..engine.support import after_cycle, instant_pair, run_config, run_engine
from .support import Runs

REFUSE_NAMESPACES = FaultRule(verb="list", resource="namespaces", error_rate=1.0, status=403, id="no-namespaces")
"""Preflight's first question to each hub is a namespace list: refused, the cycle fails its preflight."""


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
