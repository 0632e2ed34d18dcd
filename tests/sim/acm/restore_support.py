"""Shared steps of the facts conformance tests: activating, waiting for Restore phases, and putting
backups into the shared storage as hub-a's Velero would (hub-b's Velero then syncs them)."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from kubernetes_asyncio.client.exceptions import ApiException

from asyncswitch.sim.acm import SimulatedHubPair, profile_named
from asyncswitch.sim.acm.world import BackupRecord

from .resources import (
    BACKUP_NS,
    BACKUP_SCHEDULES,
    BACKUPS,
    PASSIVE_RESTORE,
    RESTORES,
    SCHEDULE,
    Hub,
    create,
    merge_patch,
    snap,
    until,
)
from .watching import Obj, PhaseLog, Predicate, by_name, name_of, phase

BRISK = replace(profile_named("instant"), min_cron_period=0.25)
"""Instant steps, with backups and passive syncs every quarter of a second."""
QUIET = 1.0
"""Real seconds to watch, on an instant profile, for something that must not happen."""
TERMINAL = ("Finished", "FinishedWithErrors")
SCHEDULE_PREFIX = {"credentials": "acm-credentials-schedule", "resources": "acm-resources-schedule",
                   "generic": "acm-resources-generic-schedule", "managedClusters": "acm-managed-clusters-schedule"}
HIVE = ("cluster-0001", "cluster-0002")
"""With 6 clusters and hive_share 0.3 the first two are Hive clusters: no MSA token."""
CLUSTERS = tuple(f"cluster-{i:04d}" for i in range(1, 7))
MSA = tuple(c for c in CLUSTERS if c not in HIVE)


def refusal(kind: str, name: str) -> str:
    return (f"This resource is ignored because {kind} resource {name} is currently active, before creating "
            "another resource verify that any active resources are removed.")


def phase_of(name: str, wanted: tuple[str, ...]) -> Predicate:
    def check(objs: list[Obj]) -> bool:
        return phase(by_name(objs).get(name)) in wanted
    return check


async def restore_ends(hub: Hub, name: str, wanted: tuple[str, ...] = (*TERMINAL, "Error")) -> Obj:
    return by_name(await until(hub, RESTORES, phase_of(name, wanted)))[name]


async def activate(hub_b: Hub) -> Obj:
    """Runbook option A: MC skip → latest on the Enabled passive restore; returns it once Finished*."""
    await until(hub_b, RESTORES, phase_of(PASSIVE_RESTORE, ("Enabled",)))
    await merge_patch(hub_b, RESTORES, PASSIVE_RESTORE, {"spec": {"veleroManagedClustersBackupName": "latest"}})
    return await restore_ends(hub_b, PASSIVE_RESTORE, TERMINAL)


async def pause_hub_a(hub_a: Hub) -> None:
    """Stop hub-a's backups (on instant profiles they come every second)."""
    await merge_patch(hub_a, BACKUP_SCHEDULES, SCHEDULE, {"spec": {"paused": True}})
    await until(hub_a, BACKUP_SCHEDULES, lambda objs: [phase(o) for o in objs] == ["Paused"])


def stamp(offset: float) -> tuple[str, str]:
    """(YYYYMMDDhhmmss, RFC 3339) ``offset`` seconds from now."""
    when = datetime.fromtimestamp(time.time() + offset, UTC)
    return when.strftime("%Y%m%d%H%M%S"), when.strftime("%Y-%m-%dT%H:%M:%SZ")


def put_backup(pair: SimulatedHubPair, backup_type: str, offset: float, *, items: int = 40,
               copy_of: BackupRecord | None = None) -> str:
    """A backup of ``backup_type`` written by hub-a ``offset`` seconds from now; returns its name."""
    assert pair.world is not None
    suffix, start = stamp(offset)
    schedule = SCHEDULE_PREFIX[backup_type]
    name = f"{schedule}-{suffix}"
    hub_a = pair.hubs["hub-a"]
    base = copy_of or BackupRecord(name="", schedule=schedule, backup_type=backup_type, hub="hub-a",
                                   cluster_id=hub_a.cluster_id, created=0, start="", completion="", items=items,
                                   use_managed_service_account=True)
    labels = {"velero.io/schedule-name": schedule,
              "cluster.open-cluster-management.io/backup-schedule-type":
                  "resources" if backup_type == "generic" else backup_type,
              "cluster.open-cluster-management.io/backup-cluster": hub_a.cluster_id}
    pair.world.storage.put(replace(base, name=name, schedule=schedule, backup_type=backup_type, hub="hub-a",
                                   created=time.time() + offset, start=start, completion=start, items=items,
                                   labels=labels))
    return name


def newest(pair: SimulatedHubPair, backup_type: str) -> BackupRecord:
    assert pair.world is not None
    records = [r for r in pair.world.storage.records() if r.schedule == SCHEDULE_PREFIX[backup_type]]
    return records[-1]


async def synced(hub: Hub, name: str) -> Obj:
    """Wait until ``hub`` lists the backup ``name`` (Velero's backup sync)."""
    return by_name(await until(hub, BACKUPS, lambda objs: name in {name_of(o) for o in objs}))[name]


async def passive_resync(hub_b: Hub) -> tuple[list[str], Obj]:
    """Wait for hub-b's passive restore to sync newer backups; returns every phase it showed meanwhile
    (from the Enabled it was in) and the restore as it ended."""
    before = await snap(hub_b, RESTORES)
    first = by_name(before.items)[PASSIVE_RESTORE]["status"]["veleroCredentialsRestoreName"]
    log = PhaseLog()

    def resynced(objs: list[Obj]) -> bool:
        log.record(objs)
        restore = by_name(objs)[PASSIVE_RESTORE]
        return phase(restore) == "Enabled" and restore["status"]["veleroCredentialsRestoreName"] != first

    objs = await until(hub_b, RESTORES, resynced, after=before)
    return log.seen[f"{BACKUP_NS}/{PASSIVE_RESTORE}"], by_name(objs)[PASSIVE_RESTORE]


async def assert_webhook_refuses_creating(hub: Hub, body: dict[str, Any]) -> None:
    """Creating ``body`` is denied by the 2.16+ Restore webhook, answered as a real webhook answers."""
    with pytest.raises(ApiException) as refused:
        await create(hub, RESTORES, body)
    assert refused.value.status == 403
    assert json.loads(refused.value.body)["message"].startswith(
        'admission webhook "vrestore.kb.io" denied the request: ')
