"""A passive-sync Restore the operator will not activate is refused in preflight, at once, with its fix.

The operator never processes a Finished or FinishedWithErrors Restore again (acm-operator-facts §1.1
step 3), so patching one waits for nothing; EnabledWithErrors (2.17) means its Velero restores fail.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from asyncswitch.kube import Hub
from asyncswitch.sim.acm import SimulatedHubPair
from asyncswitch.sim.acm import kinds as sim_kinds
from asyncswitch.sim.acm.ops import patch_status
from asyncswitch.switchover import SwitchoverEvent

from .support import BACKUP_NS, PASSIVE_RESTORE, options, pipeline_mutations, read_state, switch

pytestmark = pytest.mark.pair(clusters=4, profile="fast", speed=400)

REFUSED = ("This resource is ignored because BackupSchedule resource acm-hub-backup is currently active, "
           "before creating another resource verify that any active resources are removed.")


async def leave_passive_restore(pair: SimulatedHubPair, status: dict[str, Any]) -> None:
    """hub-b's passive-sync Restore left in ``status`` by an operator that no longer touches it (as the
    real one does once a Restore is Finished or FinishedWithErrors): hub-b's simulated one is stopped."""
    assert pair.world is not None
    stopped = [t for t in pair.world.tasks
               if t.get_name() in ("sim:hub-b:AcmRestoreController", f"sim:hub-b:restore:{PASSIVE_RESTORE}")]
    for task in stopped:
        task.cancel()
    await asyncio.wait(stopped)
    patch_status(pair.hubs["hub-b"].store, sim_kinds.ACM_RESTORES, BACKUP_NS, PASSIVE_RESTORE,
                 {"messages": None, **status})


@pytest.mark.parametrize(("status", "shown"), [
    pytest.param({"phase": "Finished", "lastMessage": "All Velero restores have run successfully"},
                 "Finished", id="finished"),
    pytest.param({"phase": "FinishedWithErrors", "lastMessage": REFUSED, "messages": [REFUSED]},
                 "FinishedWithErrors", id="refused"),
])
async def test_a_passive_restore_the_operator_has_finished_with_is_refused_with_its_fix(
    pair: SimulatedHubPair, hubs: dict[str, Hub], tmp_path: Path, status: dict[str, Any], shown: str,
) -> None:
    await leave_passive_restore(pair, status)
    state_path = tmp_path / "state.json"

    report = await switch(hubs, "hub-a", "hub-b", state_path, options())

    assert report.success is False
    assert [(r.phase, r.outcome) for r in report.results] == [("preflight", "failed")]
    assert report.error is not None
    assert f"{PASSIVE_RESTORE} on hub-b is {shown}" in report.error
    assert "delete it and create a new passive-sync Restore" in report.error
    assert read_state(state_path)["failed_phase"] == "preflight"
    assert pipeline_mutations(pair.hub_a) == pipeline_mutations(pair.hub_b) == []


@pytest.mark.pair(clusters=4, profile="fast", speed=400, acm_version="2.17.0")
async def test_a_passive_restore_enabled_with_errors_fails_preflight_at_once_with_its_message(
    pair: SimulatedHubPair, hubs: dict[str, Hub], tmp_path: Path,
) -> None:
    # The operator goes on syncing in EnabledWithErrors; here it is stopped so that the phase stays.
    message = "Velero restore restore-acm-passive-sync-acm-credentials-schedule-x has failed validation"
    await leave_passive_restore(pair, {"phase": "EnabledWithErrors", "lastMessage": message})

    report = await switch(hubs, "hub-a", "hub-b", tmp_path / "state.json", options())

    assert [(r.phase, r.outcome) for r in report.results] == [("preflight", "failed")]
    assert report.error is not None
    assert f"{PASSIVE_RESTORE} on hub-b is EnabledWithErrors: {message}" in report.error
    assert pipeline_mutations(pair.hub_a) == pipeline_mutations(pair.hub_b) == []


@pytest.mark.pair(clusters=4, profile="fast", speed=400, acm_version="2.17.0")
async def test_a_passive_restore_turning_enabled_with_errors_while_activation_waits_fails_it_at_once(
    pair: SimulatedHubPair, hubs: dict[str, Hub], tmp_path: Path,
) -> None:
    # Mid-resync (Running) at preflight; activation waits for it to settle, and it settles with errors.
    await leave_passive_restore(pair, {"phase": "Running", "lastMessage": "Velero restore x is currently executing"})
    message = "Velero restore restore-acm-passive-sync-acm-resources-schedule-x has failed validation"
    events: asyncio.Queue[SwitchoverEvent] = asyncio.Queue()

    async def errors_once_activation_waits() -> None:
        while True:
            event = await events.get()
            if event.kind == "wait_started" and event.phase == "activation":
                patch_status(pair.hubs["hub-b"].store, sim_kinds.ACM_RESTORES, BACKUP_NS, PASSIVE_RESTORE,
                             {"phase": "EnabledWithErrors", "lastMessage": message})
                return

    helper = asyncio.create_task(errors_once_activation_waits())
    try:
        report = await switch(hubs, "hub-a", "hub-b", tmp_path / "state.json", options(), events=events)
    finally:
        helper.cancel()
        await asyncio.wait({helper})

    assert [(r.phase, r.outcome) for r in report.results] == [
        ("preflight", "succeeded"), ("primary_preparation", "succeeded"), ("activation", "failed")]
    assert report.error is not None
    assert f"{PASSIVE_RESTORE} on hub-b is EnabledWithErrors: {message}" in report.error
