"""The invariants across the two hubs (asyncswitch.check_invariants): they hold on a settled pair and
each breach is named in one line."""

from __future__ import annotations

import pytest

import asyncswitch
from asyncswitch.kube import BACKUP_SCHEDULES, Hub
from asyncswitch.sim.acm import SimulatedHubPair

from .support import BACKUP_NS, SCHEDULE

pytestmark = pytest.mark.pair(clusters=3, profile="fast", speed=400)


async def test_a_settled_pair_keeps_every_invariant(hubs: dict[str, Hub]) -> None:
    report = await asyncswitch.check_invariants(hubs)

    assert report.ok, report.findings()
    assert [r.name for r in report.results] == [
        "managed clusters on exactly one hub", "one active BackupSchedule", "one Thanos compactor",
        "no Argo CD auto-sync left paused"]
    assert report.to_json()["ok"] is True


async def test_a_second_active_backup_schedule_is_a_breach_named_with_both(
    pair: SimulatedHubPair, hubs: dict[str, Hub],
) -> None:
    schedule = await hubs["hub-a"].get(BACKUP_SCHEDULES, SCHEDULE, BACKUP_NS)
    assert schedule is not None
    await hubs["hub-b"].create(BACKUP_SCHEDULES, {
        "apiVersion": schedule["apiVersion"], "kind": "BackupSchedule",
        "metadata": {"name": SCHEDULE, "namespace": BACKUP_NS}, "spec": schedule["spec"]}, BACKUP_NS)

    report = await asyncswitch.check_invariants(hubs)

    assert not report.ok
    (failed,) = report.failed()
    assert failed.name == "one active BackupSchedule"
    assert f"{SCHEDULE}@hub-a" in failed.finding
    assert f"{SCHEDULE}@hub-b" in failed.finding
