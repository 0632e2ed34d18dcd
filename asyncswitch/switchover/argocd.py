"""Argo CD Applications that manage ACM resources: reported in preflight, their auto-sync paused for the
switchover and restored after it (--argocd pause), or only reported (warn), or a reason to stop (refuse).

GitOps auto-sync undoes the pause, the annotations and the activation (domain facts §5.20). An
Application counts when one of its ``status.resources`` is an ACM kind or lives in an ACM namespace.
Pausing removes ``spec.syncPolicy.automated`` (other syncPolicy keys stay) and marks the Application with
``acm-switchover.argoproj.io/paused-by=<run id>``; the state keeps each automated block, so a resumed run
restores exactly what it paused. Git must describe the new roles before auto-sync comes back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from ..kube import ARGO_APPLICATIONS, Hub
from .context import SwitchoverContext
from .invariants import ARGOCD_PAUSE_MARKER

__all__ = ["ACM_KINDS", "acm_applications", "auto_syncing", "pause_auto_sync", "resume_auto_sync", "touched_kinds"]

ACM_KINDS = frozenset({
    "MultiClusterHub", "MultiClusterEngine", "MultiClusterObservability", "ManagedCluster", "ManagedClusterSet",
    "ManagedClusterSetBinding", "Placement", "PlacementBinding", "Policy", "PolicySet", "BackupSchedule", "Restore",
    "DataProtectionApplication", "ClusterDeployment"})
_ACM_NAMESPACES = frozenset({"multicluster-engine", "local-cluster"})


def _acm_namespace(namespace: str) -> bool:
    return namespace == "open-cluster-management" or namespace.startswith("open-cluster-management-") \
        or namespace in _ACM_NAMESPACES


def touched_kinds(app: Mapping[str, Any]) -> list[str]:
    """The ACM kinds (or kinds in ACM namespaces) an Application manages, by its status.resources."""
    found = {str(r.get("kind")) for r in (app.get("status") or {}).get("resources") or []
             if r.get("kind") in ACM_KINDS or _acm_namespace(str(r.get("namespace") or ""))}
    return sorted(found)


def auto_syncing(app: Mapping[str, Any]) -> bool:
    return bool(((app.get("spec") or {}).get("syncPolicy") or {}).get("automated"))


def _key(app: Mapping[str, Any]) -> str:
    return f"{app['metadata'].get('namespace')}/{app['metadata']['name']}"


async def acm_applications(hub: Hub) -> list[dict[str, Any]]:
    """The Applications on ``hub`` that manage ACM resources (none where Argo CD is not installed)."""
    return [a for a in (await hub.list(ARGO_APPLICATIONS)).items if touched_kinds(a)]


def describe(hub: Hub, app: Mapping[str, Any]) -> str:
    return f"{hub.name}: {_key(app)} auto-syncs ACM resources ({', '.join(touched_kinds(app))})"


def run_id(ctx: SwitchoverContext) -> str:
    if "argocd_run_id" not in ctx.facts:
        ctx.facts["argocd_run_id"] = hashlib.sha256(ctx.store.state.created_at.encode()).hexdigest()[:12]
    return str(ctx.facts["argocd_run_id"])


async def pause_auto_sync(ctx: SwitchoverContext) -> None:
    marker = run_id(ctx)
    paused: list[dict[str, Any]] = list(ctx.facts.get("argocd_paused") or [])
    done = {(p["hub"], p["namespace"], p["name"]) for p in paused}
    for role, hub in (("primary", ctx.primary), ("secondary", ctx.secondary)):
        for app in await acm_applications(hub):
            meta = app["metadata"]
            key = (role, meta.get("namespace"), meta["name"])
            if key in done or not auto_syncing(app):
                continue
            paused.append({"hub": role, "namespace": meta.get("namespace"), "name": meta["name"],
                           "automated": app["spec"]["syncPolicy"]["automated"]})
            await ctx.remember(argocd_paused=paused)  # before the change: a crash right after it still restores
            await ctx.patch(hub, ARGO_APPLICATIONS, meta["name"], {
                "metadata": {"annotations": {ARGOCD_PAUSE_MARKER: marker}},
                "spec": {"syncPolicy": {"automated": None}}}, meta.get("namespace"))


async def resume_auto_sync(ctx: SwitchoverContext) -> None:
    marker = run_id(ctx)
    hubs = {"primary": ctx.primary, "secondary": ctx.secondary}
    for record in ctx.facts.get("argocd_paused") or []:
        hub = hubs[record["hub"]]
        app = await hub.get(ARGO_APPLICATIONS, record["name"], record["namespace"])
        if app is None or (app["metadata"].get("annotations") or {}).get(ARGOCD_PAUSE_MARKER) != marker:
            continue  # gone, or restored already (a resumed run), or paused by someone else
        await ctx.patch(hub, ARGO_APPLICATIONS, record["name"], {
            "metadata": {"annotations": {ARGOCD_PAUSE_MARKER: None}},
            "spec": {"syncPolicy": {"automated": record["automated"]}}}, record["namespace"])
