"""A failure in any phase stops the switchover there with a clear error and a state that says which
phase failed; once the cause is gone, --resume continues from that phase and completes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from asyncswitch.kube import ACM_RESTORES, BACKUP_SCHEDULES, Hub
from asyncswitch.sim.acm import SimulatedHubPair
from asyncswitch.sim.acm import kinds as sim_kinds
from asyncswitch.sim.acm.seed import passive_restore
from asyncswitch.sim.faults import FaultRule
from asyncswitch.switchover import SwitchoverEvent, SwitchoverReport, Timeouts

from .support import (
    BACKUP_NS,
    PASSIVE_RESTORE,
    SCHEDULE,
    assert_switched_over,
    backup_names,
    mutation_counts,
    options,
    phase,
    pipeline_mutations,
    read_state,
    switch,
    wait_until,
)

pytestmark = pytest.mark.pair(clusters=6, profile="fast", speed=400)

PHASES = ["preflight", "primary_preparation", "activation", "post_activation_verification", "finalization"]


def assert_stopped_in(report: SwitchoverReport, state_path: Path, failed: str) -> None:
    """The run failed in ``failed``, ran nothing after it, and its state file says so for --resume."""
    assert report.success is False
    assert report.phase == "failed"
    ran = PHASES[:PHASES.index(failed) + 1]
    assert [(r.phase, r.outcome) for r in report.results] == [(p, "succeeded") for p in ran[:-1]] + [(failed, "failed")]
    state = read_state(state_path)
    assert (state["phase"], state["failed_phase"]) == ("failed", failed)
    assert state["errors"][-1]["phase"] == failed
    assert state["errors"][-1]["error"] == report.error


async def resume_to_the_end(pair: SimulatedHubPair, hubs: dict[str, Hub], state_path: Path, failed: str) -> None:
    before = await backup_names(hubs["hub-b"])
    resumed = await switch(hubs, "hub-a", "hub-b", state_path, options(), resume=True)
    assert resumed.success, resumed.error
    assert [r.phase for r in resumed.results] == PHASES[PHASES.index(failed):]
    assert read_state(state_path)["phase"] == "completed"
    await assert_switched_over(pair, hubs, old="hub-a", new="hub-b", action="secondary", backups_before=before)


async def schedule_paused_on(hub: Hub) -> bool:
    (schedule,) = (await hub.list(BACKUP_SCHEDULES, BACKUP_NS)).items
    return bool(schedule["spec"].get("paused"))


# -- preflight ------------------------------------------------------------------------------------

async def test_preflight_refuses_to_start_while_the_backup_storage_is_unreachable_and_resume_completes_once_it_is_back(
    pair: SimulatedHubPair, hubs: dict[str, Hub], tmp_path: Path,
) -> None:
    state_path = tmp_path / "state.json"
    pair.set_storage_available(False)

    report = await switch(hubs, "hub-a", "hub-b", state_path, options())

    assert_stopped_in(report, state_path, "preflight")
    assert report.error is not None
    assert "BackupStorageLocation (primary): hub-a: not Available: default" in report.error
    assert "BackupStorageLocation (secondary): hub-b: not Available: default" in report.error
    assert pipeline_mutations(pair.hub_a) == pipeline_mutations(pair.hub_b) == []
    assert not await schedule_paused_on(hubs["hub-a"])

    pair.set_storage_available(True)
    await resume_to_the_end(pair, hubs, state_path, "preflight")


@pytest.mark.pair(clusters=6, profile="fast", speed=400, use_managed_service_account=False)
async def test_preflight_refuses_a_schedule_whose_backups_would_not_bring_the_clusters_over(
    pair: SimulatedHubPair, hubs: dict[str, Hub], tmp_path: Path,
) -> None:
    report = await switch(hubs, "hub-a", "hub-b", tmp_path / "state.json", options())

    assert_stopped_in(report, tmp_path / "state.json", "preflight")
    assert report.error is not None
    assert "BackupSchedule (primary): useManagedServiceAccount is not true" in report.error
    assert pipeline_mutations(pair.hub_a) == pipeline_mutations(pair.hub_b) == []


@pytest.mark.pair(clusters=6, profile="fast", speed=400, preserve_on_delete_false=1)
async def test_preflight_refuses_cluster_deployments_that_a_decommission_would_destroy(
    pair: SimulatedHubPair, hubs: dict[str, Hub], tmp_path: Path,
) -> None:
    report = await switch(hubs, "hub-a", "hub-b", tmp_path / "state.json", options(action="decommission"))

    assert_stopped_in(report, tmp_path / "state.json", "preflight")
    assert report.error is not None
    assert "ClusterDeployments preserveOnDelete: 1 without preserveOnDelete" in report.error
    assert pipeline_mutations(pair.hub_a) == pipeline_mutations(pair.hub_b) == []


# -- primary preparation ---------------------------------------------------------------------------

async def test_a_schedule_the_old_hub_forbids_pausing_stops_primary_preparation_and_resume_completes(
    pair: SimulatedHubPair, hubs: dict[str, Hub], tmp_path: Path,
) -> None:
    state_path = tmp_path / "state.json"
    # 403 is final (the client retries only 5xx, 429 and no answer): the phase fails at once.
    rule = pair.hub_a.faults.add(FaultRule(verb="patch", resource="backupschedules", status=403, error_rate=1.0))

    report = await switch(hubs, "hub-a", "hub-b", state_path, options())

    assert_stopped_in(report, state_path, "primary_preparation")
    assert report.error is not None
    assert f"hub-a: patch backupschedules.cluster.open-cluster-management.io {BACKUP_NS}/{SCHEDULE}: 403" \
        in report.error
    assert not await schedule_paused_on(hubs["hub-a"])  # hub-a still takes backups: nothing was lost
    assert pipeline_mutations(pair.hub_b) == []

    pair.hub_a.faults.remove(rule)
    await resume_to_the_end(pair, hubs, state_path, "primary_preparation")


# -- activation ------------------------------------------------------------------------------------

async def test_a_restore_that_ends_in_error_stops_activation_and_resume_completes_after_the_repair(
    pair: SimulatedHubPair, hubs: dict[str, Hub], tmp_path: Path,
) -> None:
    state_path = tmp_path / "state.json"
    events: asyncio.Queue[SwitchoverEvent] = asyncio.Queue()

    async def storage_fails_when_activation_starts() -> None:
        while not ((event := await events.get()).kind == "phase_started" and event.phase == "activation"):
            pass
        pair.set_storage_available(False)  # after preflight checked it: the BSL turns Unavailable

    breaker = asyncio.create_task(storage_fails_when_activation_starts())
    report = await switch(hubs, "hub-a", "hub-b", state_path, options(), events=events)
    await breaker

    assert_stopped_in(report, state_path, "activation")
    assert report.error is not None
    # The backup operator checks the BSL before any Velero restore (facts §1.1 step 6).
    assert report.error.startswith(f"Restore {PASSIVE_RESTORE} on hub-b is Error: Backup storage location not "
                                   "available in namespace")
    assert (await hubs["hub-b"].list(BACKUP_SCHEDULES, BACKUP_NS)).items == []  # finalization did not run

    # The repair the runbook describes: storage back, the failed Restore and its failed Velero restores
    # deleted (a new Restore of the same name would meet them again), the passive Restore recreated.
    pair.set_storage_available(True)
    store = pair.hubs["hub-b"].store
    store.delete(sim_kinds.ACM_RESTORES, BACKUP_NS, PASSIVE_RESTORE)
    for failed in store.list(sim_kinds.VELERO_RESTORES, BACKUP_NS).items:
        if phase(failed.obj) == "FailedValidation":
            store.delete(sim_kinds.VELERO_RESTORES, BACKUP_NS, failed.name)
    await wait_until(hubs["hub-b"], ACM_RESTORES, lambda objs: PASSIVE_RESTORE not in objs, namespace=BACKUP_NS,
                     description="the failed Restore gone")
    store.create(sim_kinds.ACM_RESTORES, BACKUP_NS, passive_restore())
    await wait_until(hubs["hub-b"], ACM_RESTORES, lambda objs: phase(objs.get(PASSIVE_RESTORE)) == "Enabled",
                     namespace=BACKUP_NS, description="the new passive Restore Enabled")

    await resume_to_the_end(pair, hubs, state_path, "activation")


# -- post-activation verification ---------------------------------------------------------------------

async def test_clusters_that_do_not_connect_in_time_stop_post_activation_and_resume_completes(
    pair: SimulatedHubPair, hubs: dict[str, Hub], tmp_path: Path,
) -> None:
    state_path = tmp_path / "state.json"

    report = await switch(hubs, "hub-a", "hub-b", state_path,
                          options(timeouts=Timeouts(clusters_connected=0.01, compactor_watch=0.5)))

    assert_stopped_in(report, state_path, "post_activation_verification")
    assert report.error is not None
    assert report.error.startswith("hub-b: timed out after 0.01 s waiting for every managed cluster Available and "
                                   "Joined")
    assert (await hubs["hub-b"].list(BACKUP_SCHEDULES, BACKUP_NS)).items == []

    await resume_to_the_end(pair, hubs, state_path, "post_activation_verification")
    # The resumed run did not activate again.
    counts = mutation_counts(pipeline_mutations(pair.hub_b))
    assert counts[("patch", ACM_RESTORES.key, BACKUP_NS, PASSIVE_RESTORE)] == 1


# -- finalization ----------------------------------------------------------------------------------

async def test_a_backup_schedule_the_new_hub_forbids_creating_stops_finalization_and_resume_completes(
    pair: SimulatedHubPair, hubs: dict[str, Hub], tmp_path: Path,
) -> None:
    state_path = tmp_path / "state.json"
    rule = pair.hub_b.faults.add(FaultRule(verb="create", resource="backupschedules", status=403, error_rate=1.0))

    report = await switch(hubs, "hub-a", "hub-b", state_path, options())

    assert_stopped_in(report, state_path, "finalization")
    assert report.error is not None
    assert f"hub-b: create backupschedules.cluster.open-cluster-management.io {BACKUP_NS}/{SCHEDULE}: 403" \
        in report.error
    # Neither hub takes backups now: the state that --resume must finish.
    assert (await hubs["hub-b"].list(BACKUP_SCHEDULES, BACKUP_NS)).items == []
    assert await schedule_paused_on(hubs["hub-a"])

    pair.hub_b.faults.remove(rule)
    await resume_to_the_end(pair, hubs, state_path, "finalization")
