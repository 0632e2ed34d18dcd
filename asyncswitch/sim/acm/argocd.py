"""A simulated Argo CD on one hub: one Application that manages the hub's BackupSchedule from Git.

With automated sync (``spec.syncPolicy.automated``) Argo CD puts the desired state back a while after
someone changed it (self-heal): here ``spec.paused`` of the BackupSchedule, as Git says (``git``). With
the automated block removed it leaves the BackupSchedule alone (domain facts §5.20). ``status.resources``
lists what the Application manages, as Argo CD reports it.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from ..errors import ApiError
from ..resources import ResourceType
from .context import SimHub, SimWorld
from .kinds import BACKUP_NAMESPACE, BACKUP_SCHEDULES, SCHEDULE_NAME
from .ops import patch

__all__ = ["APPLICATIONS", "APP_NAME", "GITOPS_NAMESPACE", "SELF_HEAL_AFTER", "ArgoCdController"]

APPLICATIONS = ResourceType(group="argoproj.io", version="v1alpha1", plural="applications", kind="Application",
                            namespaced=True, status_subresource=False, short_names=("app", "apps"))
GITOPS_NAMESPACE = "openshift-gitops"
APP_NAME = "acm-hub-backup"
SELF_HEAL_AFTER = 180.0
"""Simulated seconds before Argo CD re-applies Git over a change (its default reconcile period)."""


class ArgoCdController:
    def __init__(self, hub: SimHub, world: SimWorld) -> None:
        self.hub = hub
        self.world = world
        self.store = hub.store
        self.git: dict[str, Any] = {"paused": False}
        """The BackupSchedule's desired spec fields, as the Git repository holds them."""
        self._heal: asyncio.Task[None] | None = None

    def seed(self) -> None:
        store = self.store
        self.apps = store.register(APPLICATIONS)
        with contextlib.suppress(ApiError):
            store.create(store.type_of("namespaces"), None, {"metadata": {"name": GITOPS_NAMESPACE}})
        store.create(self.apps, GITOPS_NAMESPACE, {
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": APP_NAME, "namespace": GITOPS_NAMESPACE},
            "spec": {"project": "default",
                     "source": {"repoURL": "https://git.sim.example/acm.git", "path": "hub-backup",
                                "targetRevision": "main"},
                     "destination": {"server": "https://kubernetes.default.svc", "namespace": BACKUP_NAMESPACE},
                     "syncPolicy": {"automated": {"prune": True, "selfHeal": True},
                                    "syncOptions": ["ServerSideApply=true"]}},
            "status": {"sync": {"status": "Synced"}, "health": {"status": "Healthy"},
                       "resources": [{"group": "cluster.open-cluster-management.io", "version": "v1beta1",
                                      "kind": "BackupSchedule", "namespace": BACKUP_NAMESPACE,
                                      "name": SCHEDULE_NAME, "status": "Synced"}]},
        })

    def _automated(self) -> bool:
        app = self.store.find(self.apps, GITOPS_NAMESPACE, APP_NAME)
        return bool(app and ((app.obj.get("spec") or {}).get("syncPolicy") or {}).get("automated"))

    def _drifted(self) -> bool:
        schedule = self.store.find(BACKUP_SCHEDULES, BACKUP_NAMESPACE, SCHEDULE_NAME)
        if schedule is None:
            return False
        spec = schedule.obj.get("spec") or {}
        return any(spec.get(k) != v for k, v in self.git.items())

    async def run(self) -> None:
        self.world.spawn(self._follow(self.apps, GITOPS_NAMESPACE), f"sim:{self.hub.name}:argocd:apps")
        await self._follow(BACKUP_SCHEDULES, BACKUP_NAMESPACE)

    async def _follow(self, rtype: ResourceType, namespace: str) -> None:
        with self.store.watch(rtype, namespace) as watch:
            async for _ in watch:
                if self._heal is None and self._automated() and self._drifted():
                    self._heal = self.world.spawn(self._self_heal(), f"sim:{self.hub.name}:argocd:self-heal")

    async def _self_heal(self) -> None:
        try:
            await self.world.clock.policy_sleep(SELF_HEAL_AFTER)
            if self._automated() and self._drifted():
                with contextlib.suppress(ApiError):
                    patch(self.store, BACKUP_SCHEDULES, BACKUP_NAMESPACE, SCHEDULE_NAME, {"spec": dict(self.git)})
                patch(self.store, self.apps, GITOPS_NAMESPACE, APP_NAME, {"status": {"sync": {"status": "Synced"}}})
        finally:
            self._heal = None
