"""``--activation-method restore`` (runbook Option B) deletes the passive restore and creates one that
restores only the managed-clusters backup: no ``cluster-activation`` objects (facts §1.4). Two checks
make it safe (issue 10, defect 5): the passive restore must have synced the newest credentials and
resources backups before it is deleted, and if the activation Restore cannot be created, the passive
restore is put back from the state file."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from asyncswitch.kube import ACM_RESTORES, VELERO_BACKUPS, Hub
from asyncswitch.sim.acm import SimulatedHubPair
from asyncswitch.sim.faults import FaultRule

from .support import (
    BACKUP_CLUSTER_LABEL,
    BACKUP_NS,
    PASSIVE_RESTORE,
    QUICK,
    name_of,
    options,
    phase,
    read_state,
    switch,
    wait_until,
)

pytestmark = pytest.mark.pair(clusters=6, profile="fast")

CREDENTIALS_SCHEDULE = "acm-credentials-schedule"


async def a_later_credentials_backup(pair: SimulatedHubPair, hubs: dict[str, Hub]) -> str:
    """One more credentials backup on hub-a, after hub-b's passive restore last synced: it arrives on
    hub-b Completed, and the passive restore will not restore it before its next sync (30 minutes)."""
    stamp = (datetime.now(UTC) + timedelta(seconds=30)).strftime("%Y%m%d%H%M%S")
    name = f"{CREDENTIALS_SCHEDULE}-{stamp}"
    await hubs["hub-a"].create(VELERO_BACKUPS, {
        "apiVersion": "velero.io/v1", "kind": "Backup",
        "metadata": {"name": name, "namespace": BACKUP_NS, "labels": {
            "velero.io/schedule-name": CREDENTIALS_SCHEDULE,
            "cluster.open-cluster-management.io/backup-schedule-type": "credentials",
            BACKUP_CLUSTER_LABEL: pair.hubs["hub-a"].cluster_id}},
        "spec": {"storageLocation": "default", "includedNamespaces": ["*"]}}, BACKUP_NS)
    await wait_until(hubs["hub-b"], VELERO_BACKUPS, lambda objs: phase(objs.get(name)) == "Completed",
                     namespace=BACKUP_NS, description=f"{name} synced to hub-b")
    return name


async def test_a_passive_restore_behind_the_newest_credentials_backup_is_not_deleted(
    pair: SimulatedHubPair, hubs: dict[str, Hub], tmp_path: Path
) -> None:
    # A passive restore that syncs once a day: its next sync is far past the second given to wait for it.
    await hubs["hub-b"].patch(ACM_RESTORES, PASSIVE_RESTORE, {"spec": {"restoreSyncInterval": "24h"}}, BACKUP_NS)
    await wait_until(hubs["hub-b"], ACM_RESTORES, lambda objs: phase(objs.get(PASSIVE_RESTORE)) == "Enabled",
                     namespace=BACKUP_NS, description=f"{PASSIVE_RESTORE} Enabled")
    # The operator reconciles on every event of the Restore and then takes any newer backup: let the
    # reconcile our patch caused run before the new backup exists (nothing shows when it has run).
    await asyncio.sleep(0.5)
    newest = await a_later_credentials_backup(pair, hubs)

    report = await switch(hubs, "hub-a", "hub-b", tmp_path / "state.json",
                          options(activation="restore", timeouts=replace(QUICK, passive_sync=1.0)))

    assert not report.success
    assert report.results[-1].phase == "activation"
    assert newest in (report.error or "")
    assert "credentials" in (report.error or "")
    # Nothing was taken away from hub-b: its passive restore is still there, still syncing.
    restores = {name_of(r): r for r in (await hubs["hub-b"].list(ACM_RESTORES, BACKUP_NS)).items}
    assert list(restores) == [PASSIVE_RESTORE]
    assert not restores[PASSIVE_RESTORE]["metadata"].get("deletionTimestamp")


async def test_the_switchover_waits_for_the_passive_restore_to_sync_the_newest_backup(
    pair: SimulatedHubPair, hubs: dict[str, Hub], tmp_path: Path
) -> None:
    newest = await a_later_credentials_backup(pair, hubs)

    state_path = tmp_path / "state.json"
    report = await switch(hubs, "hub-a", "hub-b", state_path, options(activation="restore"))

    assert report.success, report.error
    # The passive restore the pipeline deleted (kept in the state) had restored the newest backup.
    deleted = read_state(state_path)["facts"]["deleted_restore"]
    assert deleted["status"]["veleroCredentialsRestoreName"] == f"{PASSIVE_RESTORE}-{newest}"


async def test_the_passive_restore_is_put_back_when_the_activation_restore_cannot_be_created(
    pair: SimulatedHubPair, hubs: dict[str, Hub], tmp_path: Path
) -> None:
    # The first create of an ACM Restore on hub-b is refused (as a webhook or a quota would refuse it).
    pair.hub_b.faults.add(FaultRule(verb="create", resource="restores.cluster.open-cluster-management.io",
                                    error_rate=1.0, status=403, times=1, id="refuse-activation"))

    report = await switch(hubs, "hub-a", "hub-b", tmp_path / "state.json", options(activation="restore"))

    assert not report.success
    assert report.results[-1].phase == "activation"
    assert "put back" in (report.error or "")
    restores = await wait_until(hubs["hub-b"], ACM_RESTORES,
                                lambda objs: phase(objs.get(PASSIVE_RESTORE)) == "Enabled",
                                namespace=BACKUP_NS, description=f"{PASSIVE_RESTORE} syncing again")
    spec = restores[PASSIVE_RESTORE]["spec"]
    assert (spec["syncRestoreWithNewBackups"], spec["veleroManagedClustersBackupName"]) == (True, "skip")
