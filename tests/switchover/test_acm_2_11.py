"""ACM 2.11 has no BackupSchedule spec.paused (the field is dropped): the old hub's schedule is deleted,
its spec kept in the state for the way back, as the runbook does; a hub below 2.11 is refused in
preflight in one line."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from asyncswitch.kube import BACKUP_SCHEDULES, Hub
from asyncswitch.sim.acm import SimulatedHubPair
from asyncswitch.sim.acm import kinds as sim_kinds
from asyncswitch.sim.acm.ops import patch_status

from .support import (
    ACM_NS,
    BACKUP_NS,
    SCHEDULE,
    assert_switched_over,
    backup_names,
    mutation_counts,
    options,
    pipeline_mutations,
    read_state,
    switch,
)


@pytest.mark.pair(clusters=4, profile="fast", speed=400, acm_version="2.11.3")
async def test_on_2_11_the_old_hubs_schedule_is_deleted_and_kept_in_the_state_there_and_back(
    pair: SimulatedHubPair, hubs: dict[str, Hub], tmp_path: Path,
) -> None:
    (original,) = (await hubs["hub-a"].list(BACKUP_SCHEDULES, BACKUP_NS)).items
    for old, new in (("hub-a", "hub-b"), ("hub-b", "hub-a")):
        before = await backup_names(hubs[new])
        since = time.time()
        state_path = tmp_path / f"{old}-to-{new}.json"

        report = await switch(hubs, old, new, state_path, options())

        assert report.success, report.error
        counts = mutation_counts(pipeline_mutations(pair.hubs[old].server, since=since))
        assert counts[("delete", BACKUP_SCHEDULES.key, BACKUP_NS, SCHEDULE)] == 1
        assert counts[("patch", BACKUP_SCHEDULES.key, BACKUP_NS, SCHEDULE)] == 0
        saved = read_state(state_path)["facts"]["saved_backup_schedule"]
        assert saved["spec"]["veleroSchedule"] == original["spec"]["veleroSchedule"]
        assert (await hubs[old].list(BACKUP_SCHEDULES, BACKUP_NS)).items == []
        await assert_switched_over(pair, hubs, old=old, new=new, action="secondary", backups_before=before)


@pytest.mark.pair(clusters=2, profile="fast", speed=400)
async def test_a_hub_below_2_11_is_refused_in_preflight(
    pair: SimulatedHubPair, hubs: dict[str, Hub], tmp_path: Path,
) -> None:
    for hub in pair.hubs.values():
        patch_status(hub.store, sim_kinds.MULTICLUSTER_HUBS, ACM_NS, sim_kinds.MCH_NAME, {"currentVersion": "2.10.4"})

    report = await switch(hubs, "hub-a", "hub-b", tmp_path / "state.json", options())

    assert [(r.phase, r.outcome) for r in report.results] == [("preflight", "failed")]
    assert report.error is not None
    assert "ACM 2.10.4 is older than 2.11" in report.error
    assert pipeline_mutations(pair.hub_a) == pipeline_mutations(pair.hub_b) == []
