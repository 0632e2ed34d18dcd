"""The resilience suite: one test per fault scenario. Each cycle gets its fault at the scenario's
moment (or at --e2e-inject-at-phase), rolls it back, and gets a verdict that is not damaged; the
hubs are left whole for the next test.

With --e2e-inject-failure, only that scenario's test runs. Dry runs inject nothing. Scenarios after
which the hubs need a repair (docs/faults.md) run on a simulated pair of their own, in tests/engine;
on the session's hubs they run only when named.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from asyncswitch.acm_names import BACKUP_NAMESPACE
from asyncswitch.config import FAULT_SCENARIOS, RunConfig
from asyncswitch.engine.faults import REGISTRY
from asyncswitch.kube import BACKUP_SCHEDULES, DEPLOYMENTS, Hub
from asyncswitch.runner import RunResult

from .support import assert_hubs_whole, records

pytestmark = [pytest.mark.e2e, pytest.mark.resilience, pytest.mark.asyncio(loop_scope="session")]

Run = Callable[..., Awaitable[RunResult]]

HOLD = 1.0
"""Seconds each fault stays before its roll-back."""


async def takes_backups(hub: Hub) -> bool:
    schedules = (await hub.list(BACKUP_SCHEDULES, BACKUP_NAMESPACE)).items
    return any(not (s.get("spec") or {}).get("paused") for s in schedules)


class TestE2EResilience:
    @pytest.mark.parametrize("scenario", FAULT_SCENARIOS)
    async def test_a_cycle_gets_its_fault_a_verdict_and_leaves_no_fault_behind(
            self, asyncswitch_run: Run, e2e_config: RunConfig, e2e_hubs: tuple[Hub, Hub], scenario: str) -> None:
        chosen = e2e_config.inject_failure
        if chosen not in (None, scenario):
            pytest.skip(f"--e2e-inject-failure={chosen} selects another scenario")
        known = REGISTRY.get(scenario)
        if chosen is None and known is not None and known.needs_repair:
            pytest.skip(f"{scenario} leaves the hubs needing a repair ({known.needs_repair}); name it to run it")
        if known is not None and known.needs_sim and e2e_config.primary_context is not None:
            pytest.skip(f"{scenario} runs on the simulated hubs only: {known.refusal}")

        result = await asyncswitch_run(cycles=1, inject_failure=scenario, fault_hold=HOLD)

        injected = records(result.run_dir, "fault_injected")
        rolled_back = records(result.run_dir, "fault_rolled_back")
        if e2e_config.dry_run:
            assert (injected, rolled_back) == ([], [])
            return
        if not injected:
            # Nothing of this kind to disturb at that moment: the run says so, and goes on.
            (skipped,) = records(result.run_dir, "fault_skipped")
            assert skipped["reason"], skipped
            assert rolled_back == []
        else:
            assert [r["success"] for r in injected] == [True], injected
            acted = injected[0]["scenario"]
            assert acted == scenario if scenario != "random" else acted in REGISTRY
            assert [(r["scenario"], r["success"]) for r in rolled_back] == [(acted, True)]
        (verdict,) = records(result.run_dir, "cycle_verdict")
        assert verdict["verdict"] in ("recovered", "failed-safe"), verdict
        if verdict["verdict"] != "recovered":
            return
        assert (result.successes, result.failures) == (1, 0)
        # Nothing left behind: one hub takes backups, and Velero runs on both.
        assert sorted([await takes_backups(hub) for hub in e2e_hubs]) == [False, True]
        for hub in e2e_hubs:
            velero = await hub.get(DEPLOYMENTS, "velero", BACKUP_NAMESPACE)
            assert velero is not None, hub.name
            assert velero["spec"]["replicas"] >= 1, hub.name
        await assert_hubs_whole(e2e_hubs)
