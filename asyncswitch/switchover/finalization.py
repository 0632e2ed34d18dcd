"""Phase 5, finalization: the new hub takes backups, the old hub gets its new role.

Order matters and every ordering is awaited, not slept: all Restores on the new hub are archived,
deleted and gone before the schedule is enabled; the schedule is then recreated (a new uid resets
the BackupCollision association) and must be Enabled; a new backup set is awaited and the
managed-clusters backup must complete; the MultiClusterHub must be Running; then the old hub.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from ..kube import ACM_RESTORES, BACKUP_SCHEDULES, MULTICLUSTER_HUBS, VELERO_BACKUPS
from .argocd import resume_auto_sync
from .context import Objects, SwitchoverContext
from .errors import PhaseError
from .facts import backup_type, cron_period_seconds, parse_time, phase
from .identity import backup_hub_id, hub_identity
from .names import ACM_NAMESPACE, BACKUP_NAMESPACE
from .old_hub import handle_old_hub

__all__ = ["run_finalization"]


async def run_finalization(ctx: SwitchoverContext) -> None:
    hub = ctx.secondary
    timeouts = ctx.options.timeouts

    async def remove_restores() -> None:
        restores = (await hub.list(ACM_RESTORES, BACKUP_NAMESPACE)).items
        archived = list(ctx.facts.get("archived_restores") or [])
        for restore in restores:
            meta, status = restore["metadata"], restore.get("status") or {}
            archived.append({"name": meta["name"], "uid": meta.get("uid"), "phase": status.get("phase"),
                             "spec": restore.get("spec"), "lastMessage": status.get("lastMessage"),
                             "veleroManagedClustersRestoreName": status.get("veleroManagedClustersRestoreName"),
                             "archived_at": time.time()})
        await ctx.remember(archived_restores=archived)
        for restore in restores:
            if not restore["metadata"].get("deletionTimestamp"):  # already on its way out (a resumed run)
                await ctx.delete(hub, ACM_RESTORES, restore["metadata"]["name"], BACKUP_NAMESPACE)
        if not ctx.options.dry_run:
            await ctx.wait(hub, ACM_RESTORES, lambda rs: not rs, namespace=BACKUP_NAMESPACE,
                           timeout=timeouts.restore, description="every Restore on the new hub gone")

    await ctx.step("remove_restores", remove_restores)

    async def schedule_recreated() -> bool:
        found = (await hub.list(BACKUP_SCHEDULES, BACKUP_NAMESPACE, limit=1)).items
        return bool(found) and found[0]["metadata"].get("uid") == ctx.facts.get("new_schedule_uid")

    async def enable_schedule() -> None:
        # A schedule that moved here (or was paused here before) keeps its old association with
        # the other hub's backups and turns BackupCollision; a new one does not. So: delete, wait, create.
        saved: dict[str, Any] | None = ctx.facts.get("saved_backup_schedule")
        found = (await hub.list(BACKUP_SCHEDULES, BACKUP_NAMESPACE)).items
        if "old_schedule_uids" not in ctx.facts:
            await ctx.remember(old_schedule_uids=[s["metadata"].get("uid") for s in found])
        old_uids = set(ctx.facts["old_schedule_uids"])
        ours = [s for s in found if s["metadata"].get("uid") not in old_uids]
        if ours:  # created by this step before a crash: keep it, enabled when it was created (not now,
            # which would take its first backup for an old one and wait a whole cron period for the next)
            await ctx.remember(new_schedule_uid=ours[0]["metadata"]["uid"],
                               schedule_created_at=ours[0]["metadata"].get("creationTimestamp", ""),
                               schedule_cron=(ours[0].get("spec") or {}).get("veleroSchedule", ""))
            return
        spec: dict[str, Any] = {}
        name = "acm-hub-backup"
        for schedule in found:
            name, spec = schedule["metadata"]["name"], dict(schedule.get("spec") or {})
            if not schedule["metadata"].get("deletionTimestamp"):
                await ctx.delete(hub, BACKUP_SCHEDULES, name, BACKUP_NAMESPACE, uid=schedule["metadata"].get("uid"))
        if found and not ctx.options.dry_run:
            await ctx.wait(hub, BACKUP_SCHEDULES, lambda s: not s, namespace=BACKUP_NAMESPACE,
                           timeout=timeouts.schedule_deletion, description="the old BackupSchedule gone")
        if not found:
            if saved is None:
                raise PhaseError(f"no BackupSchedule on {hub.name} and none saved from the old hub", phase=ctx.phase)
            name, spec = saved["metadata"]["name"], dict(saved.get("spec") or {})
        spec["paused"] = False
        body = {"apiVersion": "cluster.open-cluster-management.io/v1beta1", "kind": "BackupSchedule",
                "metadata": {"name": name, "namespace": BACKUP_NAMESPACE}, "spec": spec}
        created = await ctx.create(hub, BACKUP_SCHEDULES, body, BACKUP_NAMESPACE)
        # The hub's own creationTimestamp: new backups are told by the hub's clock, never by ours.
        meta = (created or {}).get("metadata", {})
        await ctx.remember(new_schedule_uid=meta.get("uid"), schedule_created_at=meta.get("creationTimestamp", ""),
                           schedule_cron=spec.get("veleroSchedule", ""))

    await ctx.step("enable_backup_schedule", enable_schedule, verify=schedule_recreated)
    if ctx.options.dry_run:
        await handle_old_hub(ctx)
        return

    async def schedule_enabled() -> None:
        def enabled(schedules: Objects) -> bool:
            for schedule in schedules.values():
                if phase(schedule) in ("BackupCollision", "FailedValidation", "Failed"):
                    raise PhaseError(f"BackupSchedule on {hub.name} is {phase(schedule)}: "
                                     f"{(schedule.get('status') or {}).get('lastMessage', '')}", phase=ctx.phase)
            return any(phase(s) == "Enabled" for s in schedules.values())

        await ctx.wait(hub, BACKUP_SCHEDULES, enabled, namespace=BACKUP_NAMESPACE, timeout=timeouts.restore,
                       description="the BackupSchedule Enabled")

    await ctx.step("verify_backup_schedule_enabled", schedule_enabled)

    async def new_backup() -> None:
        # Both times are the new hub's: its schedule's creationTimestamp and its backups' startTimestamp.
        # And only the new hub's own backups count: the shared storage also holds (and Velero syncs in)
        # backups the other hub wrote, labelled with that hub's id.
        created_at = parse_time(str(ctx.facts.get("schedule_created_at") or "")) or 0.0
        hub_id = await hub_identity(hub)
        if hub_id is None:
            ctx.warn(f"cannot read {hub.name}'s hub id (no ClusterVersion clusterID, no labelled Velero schedules): "
                     "a backup the other hub writes now could be taken for the new hub's")
        period = cron_period_seconds(str(ctx.facts.get("schedule_cron") or ""))
        timeout = max(timeouts.new_backup_min, period)

        def ours(backup: Mapping[str, Any]) -> bool:
            by_us = hub_id is None or backup_hub_id(backup) == hub_id
            return backup_type(backup) == "managedClusters" and by_us and _started(backup) >= created_at

        def fresh_mc_backup(backups: Objects) -> bool:
            for backup in backups.values():
                if not ours(backup):
                    continue
                name = backup["metadata"]["name"]
                if phase(backup) in ("Failed", "PartiallyFailed"):
                    raise PhaseError(f"the new managed-clusters backup {name} is {phase(backup)}", phase=ctx.phase)
                if phase(backup) == "Completed":
                    return True
            return False

        backups = await ctx.wait(hub, VELERO_BACKUPS, fresh_mc_backup, namespace=BACKUP_NAMESPACE, timeout=timeout,
                                 description="a new managed-clusters backup from the new hub, Completed")
        done = [b for b in backups.values() if ours(b) and phase(b) == "Completed"]
        latest = max(done, key=_started)
        errors = int((latest.get("status") or {}).get("errors") or 0)
        if errors:
            raise PhaseError(f"backup {latest['metadata']['name']} completed with {errors} error(s)", phase=ctx.phase)
        ctx.server_time("new_backup_completion", (latest.get("status") or {}).get("completionTimestamp"))
        await ctx.remember(post_switchover_backup=latest["metadata"]["name"])

    await ctx.step("verify_new_backup", new_backup)

    async def mch_healthy() -> None:
        await ctx.wait(hub, MULTICLUSTER_HUBS, lambda m: bool(m) and all(phase(x) == "Running" for x in m.values()),
                       namespace=ACM_NAMESPACE, timeout=timeouts.mch_healthy, description="MultiClusterHub Running")

    await ctx.step("verify_mch_health", mch_healthy)
    await handle_old_hub(ctx)
    if ctx.facts.get("argocd_paused"):
        await ctx.step("resume_argocd_auto_sync", lambda: resume_auto_sync(ctx))


def _started(backup: Mapping[str, Any]) -> float:
    status = backup.get("status") or {}
    return (parse_time(status.get("startTimestamp")) or parse_time(backup["metadata"].get("creationTimestamp"))
            or 0.0)
