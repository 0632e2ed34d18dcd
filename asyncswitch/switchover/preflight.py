"""Phase 1, preflight: read both hubs and refuse to start a switchover that would fail or lose clusters.

Each check is critical (any failure stops the switchover) or a warning. The facts later phases
need (versions, observability) are recorded in the state.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ..kube import (
    ACM_RESTORES,
    BACKUP_SCHEDULES,
    BACKUP_STORAGE_LOCATIONS,
    CLUSTER_DEPLOYMENTS,
    DATA_PROTECTION_APPLICATIONS,
    MANAGED_CLUSTERS,
    MULTICLUSTER_HUBS,
    NAMESPACES,
    PODS,
    SECRETS,
    VELERO_BACKUPS,
    Hub,
    HubApiError,
)
from .argocd import acm_applications, auto_syncing, describe
from .context import Objects, SwitchoverContext
from .errors import PreflightFailed
from .facts import (
    backup_type,
    condition_status,
    connected,
    parse_time,
    passive_restore_problem,
    phase,
    version_at_least,
)
from .names import ACM_NAMESPACE, BACKUP_NAMESPACE, JOINED, LOCAL_CLUSTER, OBSERVABILITY_NAMESPACE, THANOS_SECRET
from .options import ArgocdMode, Method, SwitchoverOptions
from .permissions import READ_VERBS, required_permissions

__all__ = ["OLDEST_ACM", "CheckResult", "run_preflight"]

OLDEST_ACM = (2, 11)
"""The oldest ACM release the pipeline handles (2.11: the BackupSchedule is deleted, not paused)."""


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    critical: bool
    message: str


class _Checks:
    def __init__(self, ctx: SwitchoverContext) -> None:
        self.ctx = ctx
        self.results: list[CheckResult] = []

    def add(self, name: str, passed: bool, message: str, *, critical: bool = True) -> bool:
        self.results.append(CheckResult(name, passed, critical, message))
        self.ctx.emit("check", name, passed=passed, critical=critical, message=message)
        if not passed and not critical:
            self.ctx.warn(f"{name}: {message}")
        return passed


async def run_preflight(ctx: SwitchoverContext) -> list[CheckResult]:
    checks = _Checks(ctx)
    hubs = (("primary", ctx.primary), ("secondary", ctx.secondary))
    reachable = True
    for role, hub in hubs:
        try:
            await hub.list(NAMESPACES, limit=1)
            checks.add(f"connectivity ({role})", True, f"{hub.name} answers")
        except HubApiError as exc:
            reachable = checks.add(f"connectivity ({role})", False, f"{hub.name}: {exc}")
    if not reachable:
        raise PreflightFailed([r.message for r in checks.results if not r.passed])
    versions = {role: await _acm_version(hub) for role, hub in hubs}
    # Every later check reads the hubs: a refused permission is named here, before any of them trips on it.
    allowed = [await _rbac(checks, role, hub, ctx.options, versions["primary"]) for role, hub in hubs]
    if not all(allowed):
        raise PreflightFailed([f"{r.name}: {r.message}" for r in checks.results if not r.passed and r.critical])
    for role, hub in hubs:
        await _namespaces(checks, role, hub)
        await _oadp(checks, role, hub)
    checks.add("ACM version", bool(versions["primary"]) and versions["primary"] == versions["secondary"],
               f"primary {versions['primary'] or 'unknown'}, secondary {versions['secondary'] or 'unknown'}")
    too_old = sorted({v for v in versions.values() if v and not version_at_least(v, *OLDEST_ACM)})
    if too_old:
        checks.add("ACM version supported", False,
                   f"ACM {', '.join(too_old)} is older than {OLDEST_ACM[0]}.{OLDEST_ACM[1]}, the oldest release "
                   "asyncswitch can switch over: upgrade the hubs first")
    await _backups(checks, ctx)
    await _schedule(checks, ctx.primary)
    await _cluster_deployments(checks, ctx.primary)
    await _clusters_in_backup(checks, ctx.primary)
    if ctx.options.method is Method.PASSIVE:
        await _passive_sync(checks, ctx.secondary)
    await _argocd(checks, ctx)
    observability = {role: await hub.get(NAMESPACES, OBSERVABILITY_NAMESPACE) is not None for role, hub in hubs}
    if observability["secondary"]:
        secret = await ctx.secondary.get(SECRETS, THANOS_SECRET, OBSERVABILITY_NAMESPACE)
        checks.add("observability secret (secondary)", secret is not None,
                   f"{THANOS_SECRET} in {OBSERVABILITY_NAMESPACE}" + ("" if secret else " is missing"))
    await ctx.remember(primary_version=versions["primary"], secondary_version=versions["secondary"],
                       primary_observability=observability["primary"],
                       secondary_observability=observability["secondary"])
    failures = [f"{r.name}: {r.message}" for r in checks.results if r.critical and not r.passed]
    if failures:
        raise PreflightFailed(failures)
    return checks.results


async def _argocd(checks: _Checks, ctx: SwitchoverContext) -> None:
    mode = ctx.options.argocd
    found = [describe(hub, app) for hub in (ctx.primary, ctx.secondary)
             for app in await acm_applications(hub) if auto_syncing(app)]
    if not found:
        return
    what = "; ".join(found)
    if mode is ArgocdMode.REFUSE:
        checks.add("Argo CD", False, f"{what}: pause their auto-sync (or run with --argocd pause)")
    elif mode is ArgocdMode.PAUSE:
        checks.add("Argo CD", False, f"{what}: auto-sync paused for the switchover, restored after it",
                   critical=False)
    else:
        checks.add("Argo CD", False, f"{what}: it may undo the switchover (--argocd pause pauses it)", critical=False)


async def _rbac(checks: _Checks, role: str, hub: Hub, options: SwitchoverOptions, primary_version: str) -> bool:
    """Ask the hub, one access review per row of the permission table this run needs, all at once.

    --validate-only and --dry-run change nothing: for them only reading is required, and the writes a
    real switchover would be refused are reported as a warning (a read-only role passes).
    """
    needed = required_permissions(options, role, primary_version)
    reviews = await asyncio.gather(*(
        hub.create_access_review(verb=p.verb, resource=p.resource, namespace=p.namespace, subresource=p.subresource)
        for p in needed))
    denied = [p for p, review in zip(needed, reviews, strict=True) if not (review.get("status") or {}).get("allowed")]
    changes_nothing = options.dry_run or options.validate_only
    blocking = [p for p in denied if not changes_nothing or p.verb in READ_VERBS]
    writes = [p for p in denied if p not in blocking]
    if writes:
        checks.add(f"RBAC for a real switchover ({role})", False,
                   f"{hub.name} denies: {', '.join(p.describe() for p in writes)}", critical=False)
    return checks.add(f"RBAC ({role})", not blocking,
                      f"{len(needed)} permissions allowed" if not blocking
                      else f"{hub.name} denies: {', '.join(p.describe() for p in blocking)}")


async def _namespaces(checks: _Checks, role: str, hub: Hub) -> None:
    missing = [ns for ns in (ACM_NAMESPACE, BACKUP_NAMESPACE) if await hub.get(NAMESPACES, ns) is None]
    checks.add(f"namespaces ({role})", not missing,
               "present" if not missing else f"{hub.name} lacks {', '.join(missing)}")


async def _oadp(checks: _Checks, role: str, hub: Hub) -> None:
    pods = await hub.list(PODS, BACKUP_NAMESPACE, label_selector="app.kubernetes.io/name=velero")
    checks.add(f"velero ({role})", bool(pods.items), f"{len(pods.items)} velero pod(s) on {hub.name}")
    dpas = await hub.list(DATA_PROTECTION_APPLICATIONS, BACKUP_NAMESPACE, limit=1)
    reconciled = bool(dpas.items) and condition_status(dpas.items[0], "Reconciled") == "True"
    checks.add(f"DataProtectionApplication ({role})", reconciled,
               "Reconciled" if reconciled else f"no Reconciled DataProtectionApplication on {hub.name}")
    bsls = await hub.list(BACKUP_STORAGE_LOCATIONS, BACKUP_NAMESPACE)
    unavailable = [b["metadata"]["name"] for b in bsls.items if phase(b) != "Available"]
    checks.add(f"BackupStorageLocation ({role})", bool(bsls.items) and not unavailable,
               "Available" if bsls.items and not unavailable else
               f"{hub.name}: " + (f"not Available: {', '.join(unavailable)}" if unavailable else "none"))


async def _acm_version(hub: Hub) -> str:
    """The hub's ACM version; "" when unknown, as when reading the MultiClusterHub is refused (the RBAC
    check then names that permission)."""
    try:
        hubs = await hub.list(MULTICLUSTER_HUBS, ACM_NAMESPACE, limit=1)
    except HubApiError as exc:
        if exc.status != 403:
            raise
        return ""
    return str((hubs.items[0].get("status") or {}).get("currentVersion") or "") if hubs.items else ""


async def _backups(checks: _Checks, ctx: SwitchoverContext) -> None:
    def newest_settled(objects: Objects) -> bool:
        return not any(phase(b) in ("New", "InProgress", "Finalizing") for b in objects.values())

    hub = ctx.primary
    current = await hub.list(VELERO_BACKUPS, BACKUP_NAMESPACE)
    if any(phase(b) in ("New", "InProgress", "Finalizing") for b in current.items):
        await ctx.wait(hub, VELERO_BACKUPS, newest_settled, namespace=BACKUP_NAMESPACE,
                       timeout=ctx.options.timeouts.backup_in_progress, description="backups in progress to finish")
        current = await hub.list(VELERO_BACKUPS, BACKUP_NAMESPACE)
    owned = [b for b in current.items if backup_type(b)]
    if not owned:
        checks.add("backups (primary)", False, f"no ACM backups on {hub.name}")
        return
    newest = max(owned, key=lambda b: b["metadata"].get("creationTimestamp", ""))
    checks.add("backups (primary)", phase(newest) == "Completed",
               f"newest {newest['metadata']['name']} is {phase(newest) or 'without phase'}")


async def _schedule(checks: _Checks, hub: Hub) -> None:
    schedules = await hub.list(BACKUP_SCHEDULES, BACKUP_NAMESPACE)
    if not schedules.items:
        checks.add("BackupSchedule (primary)", False, f"no BackupSchedule on {hub.name}")
        return
    msa = bool((schedules.items[0].get("spec") or {}).get("useManagedServiceAccount"))
    checks.add("BackupSchedule (primary)", msa,
               "useManagedServiceAccount is true" if msa else
               "useManagedServiceAccount is not true: clusters would not reconnect to the new hub")


async def _cluster_deployments(checks: _Checks, hub: Hub) -> None:
    deployments = await hub.list(CLUSTER_DEPLOYMENTS)
    unsafe = [d["metadata"]["name"] for d in deployments.items if not (d.get("spec") or {}).get("preserveOnDelete")]
    checks.add("ClusterDeployments preserveOnDelete", not unsafe,
               "all preserved" if not unsafe else
               f"{len(unsafe)} without preserveOnDelete (a decommission would destroy them): {', '.join(unsafe[:5])}")


async def _clusters_in_backup(checks: _Checks, hub: Hub) -> None:
    backups = [b for b in (await hub.list(VELERO_BACKUPS, BACKUP_NAMESPACE)).items
               if backup_type(b) == "managedClusters"]
    if not backups:
        checks.add("managed clusters in backup", False, "no managed-clusters backup on the primary")
        return
    # A backup that started after the wait for running ones (its schedule fired meanwhile) is not judged:
    # the newest settled one is what a restore would use now.
    settled = [b for b in backups if phase(b) not in ("New", "InProgress", "Finalizing")] or backups
    newest = max(settled, key=lambda b: b["metadata"].get("creationTimestamp", ""))
    completed_at = parse_time((newest.get("status") or {}).get("completionTimestamp"))
    clusters = (await hub.list(MANAGED_CLUSTERS)).items
    late = [c["metadata"]["name"] for c in clusters
            if c["metadata"]["name"] != LOCAL_CLUSTER and condition_status(c, JOINED) == "True"
            and completed_at is not None
            and (parse_time(c["metadata"].get("creationTimestamp")) or 0) > completed_at]
    ok = phase(newest) == "Completed" and not late
    checks.add("managed clusters in backup", ok,
               f"{newest['metadata']['name']} {phase(newest)}" + (
                   f"; joined after it and not in any backup: {', '.join(late[:5])}" if late else ""))
    not_connected = [c["metadata"]["name"] for c in clusters
                     if c["metadata"]["name"] != LOCAL_CLUSTER and not connected(c)]
    if not_connected:
        checks.add("managed clusters connected (primary)", False,
                   f"{len(not_connected)} not Available/Joined: {', '.join(not_connected[:5])}", critical=False)


async def _passive_sync(checks: _Checks, hub: Hub) -> None:
    restores = (await hub.list(ACM_RESTORES, BACKUP_NAMESPACE)).items
    passive = [r for r in restores if (r.get("spec") or {}).get("syncRestoreWithNewBackups") is True]
    if not passive:
        checks.add("passive sync (secondary)", False, f"no passive-sync Restore on {hub.name}")
        return
    restore = max(passive, key=lambda r: r["metadata"].get("creationTimestamp", ""))
    problem = passive_restore_problem(restore, hub.name)
    checks.add("passive sync (secondary)", problem is None,
               problem or f"{restore['metadata']['name']} is {phase(restore) or 'without phase'}: "
                          f"{(restore.get('status') or {}).get('lastMessage', '')}")
