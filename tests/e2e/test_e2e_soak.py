"""The seed's soak controls on short runs: --e2e-run-hours, --e2e-max-failures and --e2e-resume."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from asyncswitch.runner import RunResult

from .support import records

pytestmark = [pytest.mark.e2e, pytest.mark.soak, pytest.mark.asyncio(loop_scope="session")]

Run = Callable[..., Awaitable[RunResult]]


class TestE2ESoakControls:
    async def test_run_hours_stop_the_run_from_starting_cycles(self, asyncswitch_run: Run) -> None:
        # 3.6 ms: over before a second cycle could start.
        result = await asyncswitch_run(cycles=5, run_hours=1e-6)

        assert result.stop_reason == "run hours reached"
        assert result.cycles <= 1
        assert result.failures == 0

    async def test_max_failures_end_the_run(self, asyncswitch_run: Run, e2e_roles: tuple[str, str]) -> None:
        active, passive = e2e_roles
        # Backwards: the passive hub as primary fails every preflight, which only reads the hubs.
        result = await asyncswitch_run(cycles=5, max_failures=2, primary_context=passive, secondary_context=active)

        assert (result.cycles, result.failures, result.stop_reason) == (2, 2, "max failures reached")
        assert [r["phase"] for r in records(result.run_dir, "phase_result") if r.get("error")] == ["preflight"] * 2

    async def test_resume_continues_the_same_run(self, asyncswitch_run: Run) -> None:
        first = await asyncswitch_run(cycles=1)
        resumed = await asyncswitch_run(cycles=2, resume=first.run_dir)

        assert resumed.run_id == first.run_id
        assert (resumed.cycles, resumed.successes) == (2, 2)
        assert [r["cycle_id"] for r in records(resumed.run_dir, "cycle_end")] == ["cycle-0001", "cycle-0002"]
