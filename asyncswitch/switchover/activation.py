"""Phase 3, activation: the secondary restores the managed clusters and takes the fleet.

For the passive method the passive-sync Restore is patched (or replaced by restore-acm-activate),
for the full method restore-acm-full is created after any passive Restore is gone. The waits
accept only a restore produced after our change: the managed-clusters Velero restore name seen
before the change is recorded, and a status still naming it does not count.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..kube import (
    ACM_RESTORES,
    CONFIG_MAPS,
    MANAGED_CLUSTERS,
    VELERO_BACKUPS,
    VELERO_RESTORES,
    Hub,
    HubApiError,
    WaitTimeout,
)
from . import import_strategy
from .context import Objects, SwitchoverContext
from .errors import PhaseError
from .facts import (
    RESTORE_INERT,
    condition_status,
    managed_clusters,
    passive_restore_problem,
    phase,
    restore_outcome,
    version_at_least,
)
from .names import (
    ACTIVATION_RESTORE,
    AVAILABLE,
    BACKUP_NAMESPACE,
    FULL_RESTORE,
    IMMEDIATE_IMPORT,
    IMPORT_CONFIGMAP,
    IMPORT_MARKER,
    LOCAL_CLUSTER,
    MCE_NAMESPACE,
)
from .options import ActivationMethod, Method

__all__ = ["restore_body", "run_activation"]


def restore_body(name: str, *, managed_clusters: str, credentials: str, resources: str,
                 sync: bool = False, interval: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "cleanupBeforeRestore": "CleanupRestored", "veleroManagedClustersBackupName": managed_clusters,
        "veleroCredentialsBackupName": credentials, "veleroResourcesBackupName": resources,
    }
    if sync:
        spec.update(syncRestoreWithNewBackups=True, restoreSyncInterval=interval or "10m")
    return {"apiVersion": "cluster.open-cluster-management.io/v1beta1", "kind": "Restore",
            "metadata": {"name": name, "namespace": BACKUP_NAMESPACE}, "spec": spec}


async def _passive_restore_name(ctx: SwitchoverContext) -> str | None:
    restores = (await ctx.secondary.list(ACM_RESTORES, BACKUP_NAMESPACE)).items
    passive = [r for r in restores if (r.get("spec") or {}).get("syncRestoreWithNewBackups") is True]
    if passive:
        return str(max(passive, key=lambda r: r["metadata"].get("creationTimestamp", ""))["metadata"]["name"])
    return None


async def _delete_and_wait(ctx: SwitchoverContext, name: str) -> None:
    hub = ctx.secondary
    existing = await hub.get(ACM_RESTORES, name, BACKUP_NAMESPACE)
    if existing is None:
        return
    if not existing["metadata"].get("deletionTimestamp"):  # not already on its way out (a resumed run)
        await ctx.remember(deleted_restore=existing)
        await ctx.delete(hub, ACM_RESTORES, name, BACKUP_NAMESPACE)
    if not ctx.options.dry_run:
        await ctx.wait(hub, ACM_RESTORES, lambda rs: not any(r["metadata"]["name"] == name for r in rs.values()),
                       namespace=BACKUP_NAMESPACE, timeout=ctx.options.timeouts.restore,
                       description=f"Restore {name} to be gone")


async def run_activation(ctx: SwitchoverContext) -> None:
    hub = ctx.secondary
    options = ctx.options
    passive = options.method is Method.PASSIVE

    if not options.dry_run:
        await ctx.step("wait_stale_availability_expired", lambda: _stale_availability_expired(ctx))
    if import_strategy.applies(ctx):
        await ctx.step("set_auto_import_strategy", lambda: import_strategy.set_import_and_sync(ctx))

    if passive and options.activation_method is ActivationMethod.PATCH:
        async def activate_by_patch() -> None:
            name = ctx.facts.get("activation_restore") or await _passive_restore_name(ctx)
            if name is None:
                raise PhaseError(f"no passive-sync Restore on {hub.name} to activate", phase=ctx.phase)
            if "stale_mc_restore" in ctx.facts:  # a resumed run: was our patch applied before the crash?
                current = await hub.get(ACM_RESTORES, name, BACKUP_NAMESPACE)
                if ((current or {}).get("spec") or {}).get("veleroManagedClustersBackupName") == "latest":
                    return

            def settled(restores: Objects) -> bool:
                # Unknown and Running are the passive sync's periodic blips: wait them out, don't fail.
                found = next((r for r in restores.values() if r["metadata"]["name"] == name), None)
                if found is None:
                    raise PhaseError(f"Restore {name} disappeared from {hub.name}", phase=ctx.phase)
                problem = passive_restore_problem(found, hub.name)
                if problem is not None:  # inert or failing: patching it would wait for nothing
                    raise PhaseError(f"passive Restore {problem}", phase=ctx.phase)
                return phase(found) == "Enabled"

            restores = await ctx.wait(hub, ACM_RESTORES, settled, namespace=BACKUP_NAMESPACE,
                                      timeout=options.timeouts.restore, description=f"passive Restore {name} settled")
            restore = next(r for r in restores.values() if r["metadata"]["name"] == name)
            status, spec = restore.get("status") or {}, restore.get("spec") or {}
            if "stale_mc_restore" not in ctx.facts:
                await ctx.remember(activation_restore=name,
                                   stale_mc_restore=status.get("veleroManagedClustersRestoreName") or "")
            if spec.get("veleroManagedClustersBackupName") != "latest":
                await ctx.patch(hub, ACM_RESTORES, name, {"spec": {"veleroManagedClustersBackupName": "latest"}},
                                BACKUP_NAMESPACE)

        async def still_activated() -> bool:
            # A Restore replaced since (a repair after a failed activation, GitOps) must be activated again.
            name = ctx.facts.get("activation_restore")
            restore = await hub.get(ACM_RESTORES, str(name), BACKUP_NAMESPACE) if name else None
            return ((restore or {}).get("spec") or {}).get("veleroManagedClustersBackupName") == "latest"
        await ctx.step("activate_managed_clusters", activate_by_patch, verify=still_activated)
    else:
        target = ACTIVATION_RESTORE if passive else FULL_RESTORE

        async def activate_by_restore() -> None:
            if await hub.get(ACM_RESTORES, target, BACKUP_NAMESPACE) is None:
                passive_name = await _passive_restore_name(ctx)
                if passive_name is not None:
                    if passive:  # Option B restores the managed clusters only: the rest must be synced
                        await _check_passive_synced_newest(ctx, passive_name)
                    await _delete_and_wait(ctx, passive_name)
                body = (restore_body(target, managed_clusters="latest", credentials="skip", resources="skip")
                        if passive else
                        restore_body(target, managed_clusters="latest", credentials="latest", resources="latest"))
                try:
                    await ctx.create(hub, ACM_RESTORES, body, BACKUP_NAMESPACE)
                except HubApiError as exc:
                    put_back = await _put_back_passive_restore(ctx)
                    raise PhaseError(f"{exc}" + (f"; {put_back}" if put_back else ""), phase=ctx.phase) from exc
            await ctx.remember(activation_restore=target, stale_mc_restore="")

        async def still_there() -> bool:
            return await hub.get(ACM_RESTORES, target, BACKUP_NAMESPACE) is not None
        await ctx.step("activate_managed_clusters" if passive else "create_full_restore", activate_by_restore,
                       verify=still_there)

    if options.dry_run:
        return

    async def wait_restore() -> None:
        name = str(ctx.facts["activation_restore"])
        stale = str(ctx.facts.get("stale_mc_restore") or "")

        def restore_done(restores: Objects) -> bool:
            restore = next((r for r in restores.values() if r["metadata"]["name"] == name), None)
            outcome = restore_outcome(restore, passive=False)
            if outcome == "failed":
                state = phase(restore) if restore else "gone"
                message = ((restore or {}).get("status") or {}).get("lastMessage", "")
                raise PhaseError(f"Restore {name} on {hub.name} is {state}: {message}", phase=ctx.phase)
            fresh = ((restore or {}).get("status") or {}).get("veleroManagedClustersRestoreName")
            if phase(restore) in RESTORE_INERT and (not fresh or fresh == stale):
                # Finished before our change reached it (a resumed run that had patched an inert Restore).
                raise PhaseError(f"Restore {name} on {hub.name} is {phase(restore)} without a new managed-clusters "
                                 "restore: the operator never processes it again; delete it and create a new "
                                 "passive-sync Restore, then run again", phase=ctx.phase)
            return outcome == "done" and bool(fresh) and fresh != stale

        restores = await ctx.wait(hub, ACM_RESTORES, restore_done, namespace=BACKUP_NAMESPACE,
                                  timeout=options.timeouts.restore,
                                  description=f"Restore {name} to finish with a new managed-clusters restore")
        restore = next(r for r in restores.values() if r["metadata"]["name"] == name)
        velero_name = str(restore["status"]["veleroManagedClustersRestoreName"])
        ctx.server_time("acm_restore_completion", (restore.get("status") or {}).get("completionTimestamp"))

        def velero_done(velero: Objects) -> bool:
            found = next((v for v in velero.values() if v["metadata"]["name"] == velero_name), None)
            if found is not None and phase(found) in ("Failed", "PartiallyFailed", "FailedValidation"):
                raise PhaseError(f"Velero restore {velero_name} is {phase(found)}: "
                                 f"{(found.get('status') or {}).get('validationErrors') or ''}", phase=ctx.phase)
            return found is not None and phase(found) == "Completed"

        velero = await ctx.wait(hub, VELERO_RESTORES, velero_done, namespace=BACKUP_NAMESPACE,
                                timeout=options.timeouts.restore,
                                description=f"Velero restore {velero_name} to complete")
        done = next(v for v in velero.values() if v["metadata"]["name"] == velero_name)
        ctx.server_time("velero_mc_restore_completion", (done.get("status") or {}).get("completionTimestamp"))
        await ctx.remember(velero_mc_restore=velero_name)

    await ctx.step("wait_restore_completion", wait_restore)

    async def count_clusters() -> None:
        clusters = managed_clusters({c["metadata"]["name"]: c for c in (await hub.list(MANAGED_CLUSTERS)).items})
        if options.min_managed_clusters and len(clusters) < options.min_managed_clusters:
            raise PhaseError(f"{len(clusters)} managed clusters arrived on {hub.name}, fewer than "
                             f"--min-managed-clusters {options.min_managed_clusters}", phase=ctx.phase)
        await ctx.remember(expected_clusters=sorted(clusters))

    await ctx.step("count_managed_clusters", count_clusters)

    async def immediate_import() -> None:
        if not version_at_least(str(ctx.facts.get("secondary_version") or ""), 2, 14):
            return
        config = await hub.get(CONFIG_MAPS, IMPORT_CONFIGMAP, MCE_NAMESPACE)
        if ((config or {}).get("data") or {}).get("autoImportStrategy", "ImportOnly") != "ImportOnly":
            return
        # The controller rewrites "" to Completed, so "Completed" alone cannot tell our import from a stale
        # value restored from a backup. Each cluster we trigger carries this switchover's marker, set in
        # the same patch, so a resumed run skips exactly the clusters it already did.
        marker = ctx.store.state.created_at
        expected = set(ctx.facts.get("expected_clusters") or [])

        def needs_import(cluster: dict[str, Any]) -> bool:
            annotations = cluster["metadata"].get("annotations") or {}
            value = annotations.get(IMMEDIATE_IMPORT)
            ours = annotations.get(IMPORT_MARKER) == marker
            return cluster["metadata"]["name"] in expected and value != "" and not (ours and value == "Completed")

        async def trigger(cluster: tuple[str, dict[str, str]]) -> None:
            name, annotations = cluster
            if IMMEDIATE_IMPORT in annotations and annotations.get(IMPORT_MARKER) != marker:
                # A non-empty value does not trigger an import: clear it first.
                await ctx.patch(hub, MANAGED_CLUSTERS, name,
                                {"metadata": {"annotations": {IMMEDIATE_IMPORT: None, IMPORT_MARKER: marker}}})
            await ctx.patch(hub, MANAGED_CLUSTERS, name,
                            {"metadata": {"annotations": {IMMEDIATE_IMPORT: "", IMPORT_MARKER: marker}}})

        # Each cluster's name and annotations only: the fleet's objects are not held while the patches run.
        await ctx.for_each([(c["metadata"]["name"], c["metadata"].get("annotations") or {})
                            for c in (await hub.list(MANAGED_CLUSTERS)).items if needs_import(c)], trigger)

    await ctx.step("apply_immediate_import", immediate_import)


async def _stale_availability_expired(ctx: SwitchoverContext) -> None:
    """Wait until no cluster shows Available on the new hub while it is Available on the old one.

    Post-restore activation skips a cluster that is Available on the new hub at that moment ("already
    available") and gives it no auto-import-secret. A cluster that left the new hub less than a lease
    grace ago (a quick switch back) still shows Available there, and would be stranded.
    """
    primary = await ctx.primary.list(MANAGED_CLUSTERS)
    order = sorted(c["metadata"]["name"] for c in primary.items
                   if c["metadata"]["name"] != LOCAL_CLUSTER and condition_status(c, AVAILABLE) == "True")
    next_index = 0

    def expired(clusters: Objects) -> bool:
        # One event per cluster in an expiry wave: go on from the first cluster still stale, so the wait
        # costs O(n) over the wave rather than a full pass per event.
        nonlocal next_index
        while next_index < len(order):
            found = clusters.get(order[next_index])
            if found is not None and condition_status(found, AVAILABLE) == "True":
                return False
            next_index += 1
        return True

    await ctx.wait(ctx.secondary, MANAGED_CLUSTERS, expired, timeout=ctx.options.timeouts.clusters_connected,
                   description="clusters the new hub had before to show Available no longer (lease grace)")


_SYNCED_TYPES = (("credentials", "veleroCredentialsRestoreName", "acm-credentials-schedule"),
                 ("resources", "veleroResourcesRestoreName", "acm-resources-schedule"))
"""What a passive restore must have restored from the newest backup before Option B may replace it:
(type, the status field naming its Velero restore, the backup name prefix the operator's ``latest``
uses; facts §1.4)."""


async def _check_passive_synced_newest(ctx: SwitchoverContext, name: str) -> None:
    """Keep a passive restore until it has restored the newest credentials and resources backups:
    Option B's activation Restore restores the managed clusters only (facts §1.4), so whatever those
    backups added since the last sync would never reach the new hub. Waits for its next sync up to
    ``timeouts.passive_sync``, then refuses, leaving the passive restore in place."""
    hub = ctx.secondary
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ctx.options.timeouts.passive_sync

    def enabled(restores: Objects) -> bool:
        found = next((r for r in restores.values() if r["metadata"]["name"] == name), None)
        if found is None:
            raise PhaseError(f"Restore {name} disappeared from {hub.name}", phase=ctx.phase)
        problem = passive_restore_problem(found, hub.name)
        if problem is not None:
            raise PhaseError(problem, phase=ctx.phase)
        return phase(found) == "Enabled"  # a resync pass in progress ends Enabled: wait for it

    while True:
        remaining = max(0.001, deadline - loop.time())
        restores = await ctx.wait(hub, ACM_RESTORES, enabled, namespace=BACKUP_NAMESPACE,
                                  timeout=remaining,
                                  description=f"passive Restore {name} Enabled")
        status = next(r for r in restores.values() if r["metadata"]["name"] == name).get("status") or {}
        behind = await _behind_newest(hub, status)
        if not behind:
            return
        synced = tuple(status.get(field) for _, field, _ in _SYNCED_TYPES)

        def resynced(restores: Objects, synced: tuple[Any, ...] = synced) -> bool:
            found = next((r for r in restores.values() if r["metadata"]["name"] == name), None)
            now = (found or {}).get("status") or {}
            return found is None or tuple(now.get(field) for _, field, _ in _SYNCED_TYPES) != synced

        try:
            await ctx.wait(hub, ACM_RESTORES, resynced, namespace=BACKUP_NAMESPACE,
                           timeout=max(0.001, deadline - loop.time()),
                           description=f"passive Restore {name} to sync the newest backups")
        except WaitTimeout:
            raise PhaseError(
                f"passive Restore {name} on {hub.name} has not synced the newest backups ({'; '.join(behind)}) "
                f"within {ctx.options.timeouts.passive_sync:g} s; --activation-method restore restores the "
                f"managed clusters only, so these would never reach {hub.name}: wait for its next sync "
                "(restoreSyncInterval) or use --activation-method patch", phase=ctx.phase) from None


async def _behind_newest(hub: Hub, status: dict[str, Any]) -> list[str]:
    """For each of credentials and resources, what the passive restore restored if not the newest."""
    backups = (await hub.list(VELERO_BACKUPS, BACKUP_NAMESPACE)).items
    behind = []
    for backup_type, field, prefix in _SYNCED_TYPES:
        newest = _newest_backup(backups, prefix)
        if newest is None:
            continue
        velero_name = status.get(field)
        velero = await hub.get(VELERO_RESTORES, str(velero_name), BACKUP_NAMESPACE) if velero_name else None
        restored = ((velero or {}).get("spec") or {}).get("backupName")
        if restored != newest:
            behind.append(f"{backup_type}: it restored {restored or 'nothing yet'}, the newest is {newest}")
    return behind


def _newest_backup(backups: list[dict[str, Any]], prefix: str) -> str | None:
    """The backup the operator's ``latest`` picks: by name prefix, Completed or PartiallyFailed, the
    newest by startTimestamp (facts §1.4)."""
    usable = [b for b in backups if b["metadata"]["name"].startswith(prefix + "-")
              and phase(b) in ("Completed", "PartiallyFailed")]
    if not usable:
        return None
    newest = max(usable, key=lambda b: ((b.get("status") or {}).get("startTimestamp") or "", b["metadata"]["name"]))
    return str(newest["metadata"]["name"])


async def _put_back_passive_restore(ctx: SwitchoverContext) -> str | None:
    """Recreate the passive restore this run deleted, from the copy kept in the state file; says what it
    did, or None when there was nothing to put back."""
    deleted = ctx.facts.get("deleted_restore")
    if not deleted:
        return None
    name = str(deleted["metadata"]["name"])
    hub = ctx.secondary
    if await hub.get(ACM_RESTORES, name, BACKUP_NAMESPACE) is not None:
        return f"the passive restore {name} is in place"
    meta = deleted["metadata"]
    body = {"apiVersion": deleted.get("apiVersion", "cluster.open-cluster-management.io/v1beta1"),
            "kind": "Restore",
            "metadata": {"name": name, "namespace": BACKUP_NAMESPACE,
                         **{k: meta[k] for k in ("labels", "annotations") if meta.get(k)}},
            "spec": deleted.get("spec") or {}}
    try:
        await ctx.create(hub, ACM_RESTORES, body, BACKUP_NAMESPACE)
    except HubApiError as exc:
        return f"putting the passive restore {name} back failed too ({exc}); recreate it from the state file"
    return f"the passive restore {name} was put back from the state file"
