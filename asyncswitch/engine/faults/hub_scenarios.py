"""Scenarios that act through the client layer only, so they run on real hubs as on the simulated pair.

Every target is on the cycle's new hub except pause-backup's, which is whichever BackupSchedule is
active at its moment.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from ...kube import (
    ARGO_APPLICATIONS,
    BACKUP_SCHEDULES,
    DEPLOYMENTS,
    MANAGED_CLUSTERS,
    PODS,
    Hub,
    NotFoundError,
    ResourceCache,
)
from ...switchover.argocd import auto_syncing
from ...switchover.facts import condition_status
from ...switchover.invariants import ARGOCD_PAUSE_MARKER
from ...switchover.names import (
    ACM_NAMESPACE,
    AVAILABLE,
    BACKUP_NAMESPACE,
    DISABLE_AUTO_IMPORT,
    LOCAL_CLUSTER,
    OBSERVABILITY_NAMESPACE,
)
from .base import Aim, FaultContext, Scenario, wait_ready
from .triggers import MC_RESTORE_DONE, MC_RESTORE_RUNNING, NEW_SCHEDULE_ENABLED, at_phase

__all__ = ["HUB_SCENARIOS"]

OBSERVATORIUM_API = "observability-observatorium-api"
BACKUP_OPERATORS = ((BACKUP_NAMESPACE, "cluster-backup-chart-clusterbackup"),
                    (ACM_NAMESPACE, "cluster-backup-operator"))
"""Where the cluster-backup-operator runs: its chart's Deployment in the backup namespace on ACM hubs
(the simulated hubs run it as ``cluster-backup-operator`` in the ACM namespace)."""
SAMPLE_SHARE = 0.3


def _selector(deployment: Mapping[str, Any]) -> str:
    labels = ((deployment.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


async def _pods_of(hub: Hub, name: str, namespace: str) -> list[str]:
    deployment = await hub.get(DEPLOYMENTS, name, namespace)
    if deployment is None or not _selector(deployment):
        return []
    pods = (await hub.list(PODS, namespace, label_selector=_selector(deployment))).items
    return sorted(p["metadata"]["name"] for p in pods if not p["metadata"].get("deletionTimestamp"))


async def _delete_pods(hub: Hub, names: list[str], namespace: str) -> None:
    for name in names:
        with contextlib.suppress(NotFoundError):
            await hub.delete(PODS, name, namespace)


class PauseBackup(Scenario):
    name = "pause-backup"
    summary = "pause the BackupSchedule that is active at that moment"
    moment = NEW_SCHEDULE_ENABLED

    async def aim(self, ctx: FaultContext) -> Aim | str:
        for role, hub in (("new", ctx.new_hub), ("old", ctx.old_hub)):
            for schedule in (await hub.list(BACKUP_SCHEDULES, BACKUP_NAMESPACE)).items:
                if not (schedule.get("spec") or {}).get("paused"):
                    name = schedule["metadata"]["name"]
                    return Aim(hub.name, f"backupschedule/{name}", {"name": name, "role": role})
        return "no unpaused BackupSchedule on either hub"

    async def act(self, ctx: FaultContext, aim: Aim) -> None:
        await ctx.hub(aim.hub).patch(BACKUP_SCHEDULES, aim.undo["name"], {"spec": {"paused": True}}, BACKUP_NAMESPACE)

    async def undo(self, ctx: FaultContext, aim: Aim) -> str:
        if aim.undo["role"] == "old" and ctx.primary_prepared is not None and ctx.primary_prepared():
            # Unpausing now would undo the switchover's own pause and leave both hubs writing backups.
            return "left paused: the switchover pauses the old hub's schedule itself"
        other = ctx.other(aim.hub)
        schedules = (await other.list(BACKUP_SCHEDULES, BACKUP_NAMESPACE)).items
        if any(not (s.get("spec") or {}).get("paused") for s in schedules):
            return f"left paused: {other.name} takes the backups now"
        try:
            await ctx.hub(aim.hub).patch(BACKUP_SCHEDULES, aim.undo["name"], {"spec": {"paused": False}},
                                         BACKUP_NAMESPACE)
        except NotFoundError:
            return "gone: the switchover recreated the schedule"
        return "rolled back"


class DelayRestore(Scenario):
    name = "delay-restore"
    summary = "scale velero to 0 on the new hub while its restores run"
    moment = at_phase("activation")

    async def aim(self, ctx: FaultContext) -> Aim | str:
        velero = await ctx.new_hub.get(DEPLOYMENTS, "velero", BACKUP_NAMESPACE)
        if velero is None:
            return f"no velero Deployment in {BACKUP_NAMESPACE} on {ctx.new_hub.name}"
        replicas = int((velero.get("spec") or {}).get("replicas", 1)) or 1
        return Aim(ctx.new_hub.name, "deployment/velero", {"replicas": replicas})

    async def act(self, ctx: FaultContext, aim: Aim) -> None:
        await ctx.hub(aim.hub).scale(DEPLOYMENTS, "velero", 0, BACKUP_NAMESPACE)

    async def undo(self, ctx: FaultContext, aim: Aim) -> str:
        await ctx.hub(aim.hub).scale(DEPLOYMENTS, "velero", int(aim.undo["replicas"]), BACKUP_NAMESPACE)
        return "rolled back"

    async def back(self, ctx: FaultContext, aim: Aim, timeout: float) -> None:  # noqa: ASYNC109
        await wait_ready(ctx.hub(aim.hub), "velero", BACKUP_NAMESPACE, timeout)


class _PodRestart(Scenario):
    """Delete a Deployment's pod(s); the Deployment brings them back, so the roll-back is a wait."""

    deployments: tuple[tuple[str, str], ...]
    every_pod = True

    async def aim(self, ctx: FaultContext) -> Aim | str:
        for namespace, name in self.deployments:
            pods = await _pods_of(ctx.new_hub, name, namespace)
            if pods:
                chosen = pods if self.every_pod else [ctx.rng.choice(pods)]
                return Aim(ctx.new_hub.name, ", ".join(f"pod/{p}" for p in chosen),
                           {"namespace": namespace, "deployment": name, "pods": chosen})
        where = " or ".join(f"{n} in {ns}" for ns, n in self.deployments)
        return f"no running pod of {where} on {ctx.new_hub.name}"

    async def act(self, ctx: FaultContext, aim: Aim) -> None:
        await _delete_pods(ctx.hub(aim.hub), list(aim.undo["pods"]), aim.undo["namespace"])

    async def undo(self, ctx: FaultContext, aim: Aim) -> str:
        return "nothing to roll back: the Deployment replaces its pod"

    async def back(self, ctx: FaultContext, aim: Aim, timeout: float) -> None:  # noqa: ASYNC109
        await wait_ready(ctx.hub(aim.hub), aim.undo["deployment"], aim.undo["namespace"], timeout)


class KillObservabilityPod(_PodRestart):
    name = "kill-observability-pod"
    summary = "delete an observatorium-api pod on the new hub"
    moment = at_phase("post_activation_verification")
    deployments = ((OBSERVABILITY_NAMESPACE, OBSERVATORIUM_API),)
    every_pod = False


class VeleroRestart(_PodRestart):
    name = "velero-restart"
    summary = "restart the velero pod on the new hub while the managed-clusters restore runs"
    moment = MC_RESTORE_RUNNING
    deployments = ((BACKUP_NAMESPACE, "velero"),)
    needs_repair = ("Velero marks the restore it was running Failed, and the operator never retries it: the new "
                    "hub's passive restore stays in Error until it is deleted and created again")


class BackupOperatorRestart(_PodRestart):
    name = "backup-operator-restart"
    summary = "restart the cluster-backup-operator pod on the new hub while it reconciles the activation"
    moment = at_phase("activation")
    deployments = BACKUP_OPERATORS


class _ClusterSample(Scenario):
    """Something done to a sample of the ManagedClusters the new hub has restored but not yet connected."""

    def _apply(self, cluster: Mapping[str, Any]) -> bool:
        """Whether this cluster can take the fault."""
        raise NotImplementedError

    async def aim(self, ctx: FaultContext) -> Aim | str:
        clusters = [c for c in (await ctx.new_hub.list(MANAGED_CLUSTERS)).items
                    if c["metadata"]["name"] != LOCAL_CLUSTER and condition_status(c, AVAILABLE) != "True"
                    and self._apply(c)]
        if not clusters:
            return f"no restored ManagedCluster on {ctx.new_hub.name} still waiting for its klusterlet"
        names = sorted(c["metadata"]["name"] for c in clusters)
        sample = sorted(ctx.rng.sample(names, max(1, round(len(names) * SAMPLE_SHARE))))
        return Aim(ctx.new_hub.name, f"{len(sample)} managedcluster(s)", {"clusters": sample})

    def _back(self, cluster: Mapping[str, Any]) -> bool:
        """Whether this sampled cluster is as it was: by default, free of the fault again."""
        return self._apply(cluster)

    async def back(self, ctx: FaultContext, aim: Aim, timeout: float) -> None:  # noqa: ASYNC109
        sample = set(aim.undo["clusters"])
        async with ResourceCache(ctx.hub(aim.hub), MANAGED_CLUSTERS) as cache:
            await cache.wait_for(lambda objs: all(self._back(objs[n]) for n in sample if n in objs),
                                 timeout=timeout, description=f"{len(sample)} sampled cluster(s) back on {aim.hub}")


class KlusterletReconnect(_ClusterSample):
    name = "klusterlet-reconnect"
    summary = "a sample of klusterlets cannot register with the new hub for a while (hubAcceptsClient false)"
    moment = MC_RESTORE_DONE

    def _apply(self, cluster: Mapping[str, Any]) -> bool:
        return (cluster.get("spec") or {}).get("hubAcceptsClient") is not False

    async def act(self, ctx: FaultContext, aim: Aim) -> None:
        for name in aim.undo["clusters"]:
            await ctx.hub(aim.hub).patch(MANAGED_CLUSTERS, name, {"spec": {"hubAcceptsClient": False}})

    async def undo(self, ctx: FaultContext, aim: Aim) -> str:
        for name in aim.undo["clusters"]:
            with contextlib.suppress(NotFoundError):
                await ctx.hub(aim.hub).patch(MANAGED_CLUSTERS, name, {"spec": {"hubAcceptsClient": True}})
        return "rolled back"

    def _back(self, cluster: Mapping[str, Any]) -> bool:
        return condition_status(cluster, AVAILABLE) == "True"  # accepted, and its klusterlet registered


class StaleAutoImport(_ClusterSample):
    name = "stale-auto-import"
    summary = "a stale disable-auto-import annotation on a sample of restored clusters on the new hub"
    moment = MC_RESTORE_DONE

    def _apply(self, cluster: Mapping[str, Any]) -> bool:
        return DISABLE_AUTO_IMPORT not in (cluster["metadata"].get("annotations") or {})

    async def act(self, ctx: FaultContext, aim: Aim) -> None:
        for name in aim.undo["clusters"]:
            await ctx.hub(aim.hub).patch(MANAGED_CLUSTERS, name,
                                         {"metadata": {"annotations": {DISABLE_AUTO_IMPORT: ""}}})

    async def undo(self, ctx: FaultContext, aim: Aim) -> str:
        left = 0
        for name in aim.undo["clusters"]:
            cluster = await ctx.hub(aim.hub).get(MANAGED_CLUSTERS, name)
            if cluster is not None and DISABLE_AUTO_IMPORT in (cluster["metadata"].get("annotations") or {}):
                left += 1
                await ctx.hub(aim.hub).patch(MANAGED_CLUSTERS, name,
                                             {"metadata": {"annotations": {DISABLE_AUTO_IMPORT: None}}})
        return "rolled back" if left else "already cleaned up by the switchover"


class ArgocdResync(Scenario):
    name = "argocd-resync"
    summary = "Argo CD re-syncs an Application the switchover paused (its automated sync put back)"
    moment = at_phase("activation")
    needs_repair = ("Argo CD puts the old hub's BackupSchedule back as Git has it, unpaused: both hubs back up and "
                    "the old hub's passive restore is refused")

    def applies(self, *, method: str, old_hub_action: str, argocd: str) -> bool:
        return argocd == "pause"  # only then does the switchover pause Applications

    async def aim(self, ctx: FaultContext) -> Aim | str:
        for hub in (ctx.old_hub, ctx.new_hub):
            for app in (await hub.list(ARGO_APPLICATIONS)).items:
                meta = app["metadata"]
                if ARGOCD_PAUSE_MARKER in (meta.get("annotations") or {}) and not auto_syncing(app):
                    return Aim(hub.name, f"application/{meta.get('namespace')}/{meta['name']}",
                               {"name": meta["name"], "namespace": meta.get("namespace")})
        return "no Argo CD Application paused by the switchover on either hub (give --argocd pause)"

    async def act(self, ctx: FaultContext, aim: Aim) -> None:
        # What an app-of-apps or a person re-syncing from Git does: the automated block is back.
        await ctx.hub(aim.hub).patch(ARGO_APPLICATIONS, aim.undo["name"],
                                     {"spec": {"syncPolicy": {"automated": {"prune": True, "selfHeal": True}}}},
                                     aim.undo["namespace"])

    async def undo(self, ctx: FaultContext, aim: Aim) -> str:
        app = await ctx.hub(aim.hub).get(ARGO_APPLICATIONS, aim.undo["name"], aim.undo["namespace"])
        if app is None or ARGOCD_PAUSE_MARKER not in (app["metadata"].get("annotations") or {}):
            return "left: the switchover has resumed its auto-sync itself"
        await ctx.hub(aim.hub).patch(ARGO_APPLICATIONS, aim.undo["name"], {"spec": {"syncPolicy": {"automated": None}}},
                                     aim.undo["namespace"])
        return "rolled back (auto-sync paused again)"


HUB_SCENARIOS: tuple[Scenario, ...] = (PauseBackup(), DelayRestore(), KillObservabilityPod(), VeleroRestart(),
                                       BackupOperatorRestart(), KlusterletReconnect(), StaleAutoImport(),
                                       ArgocdResync())
