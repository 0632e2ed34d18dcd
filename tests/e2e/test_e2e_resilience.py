"""The seed's resilience suite: one test per fault scenario. Each cycle must succeed with its fault
injected at --e2e-inject-at-phase, and leave no fault behind on the hubs.

With --e2e-inject-failure, only that scenario's test runs. Dry runs inject nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from asyncswitch.acm_names import BACKUP_NAMESPACE
from asyncswitch.config import FAULT_SCENARIOS, RunConfig
from asyncswitch.kube import BACKUP_SCHEDULES, DEPLOYMENTS, Hub
from asyncswitch.runner import RunResult

from .support import assert_hubs_whole, records

pytestmark = [pytest.mark.e2e, pytest.mark.resilience, pytest.mark.asyncio(loop_scope="session")]

Run = Callable[..., Awaitable[RunResult]]

HOLD = 1.0
"""Seconds each fault stays before its roll-back."""

PHASE_OF = {"pause-backup": "preflight", "delay-restore": "primary_preparation"}
"""Where each scenario finds something to disturb (a schedule still running, a restore still to come);
the rest at activation. --e2e-inject-failure with --e2e-inject-at-phase chooses for itself."""


async def takes_backups(hub: Hub) -> bool:
    schedules = (await hub.list(BACKUP_SCHEDULES, BACKUP_NAMESPACE)).items
    return any(not (s.get("spec") or {}).get("paused") for s in schedules)


class TestE2EResilience:
    @pytest.mark.parametrize("scenario", FAULT_SCENARIOS)
    async def test_a_cycle_survives_the_fault_and_leaves_none_behind(
            self, asyncswitch_run: Run, e2e_config: RunConfig, e2e_hubs: tuple[Hub, Hub], scenario: str) -> None:
        if e2e_config.inject_failure not in (None, scenario):
            pytest.skip(f"--e2e-inject-failure={e2e_config.inject_failure} selects another scenario")

        phase = e2e_config.inject_at_phase if e2e_config.inject_failure else PHASE_OF.get(scenario, "activation")

        result = await asyncswitch_run(cycles=1, inject_failure=scenario, inject_at_phase=phase, fault_hold=HOLD)

        assert (result.successes, result.failures) == (1, 0)
        injected = records(result.run_dir, "fault_injected")
        rolled_back = records(result.run_dir, "fault_rolled_back")
        if e2e_config.dry_run:
            assert (injected, rolled_back) == ([], [])
            return
        if not injected[0]["success"] and e2e_config.inject_failure:
            # The phase the user chose had nothing of this kind to disturb: the run says so, and goes on.
            assert injected[0]["message"], injected
            assert rolled_back == []
            return
        assert [r["success"] for r in injected] == [True], injected
        chosen = injected[0]["scenario"]
        assert chosen == scenario if scenario != "random" else chosen in FAULT_SCENARIOS
        assert [(r["scenario"], r["success"]) for r in rolled_back] == [(chosen, True)]
        # Nothing left behind: one hub takes backups, and Velero runs on both.
        assert sorted([await takes_backups(hub) for hub in e2e_hubs]) == [False, True]
        for hub in e2e_hubs:
            velero = await hub.get(DEPLOYMENTS, "velero", BACKUP_NAMESPACE)
            assert velero is not None, hub.name
            assert velero["spec"]["replicas"] >= 1, hub.name
        await assert_hubs_whole(e2e_hubs)
