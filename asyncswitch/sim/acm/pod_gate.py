"""Whether a hub's operator Deployment has a ready pod, as an event controllers can wait on.

A controller that runs in a pod does nothing while its pod is gone: the simulated Velero and
cluster-backup-operator wait on their gate before each piece of work, and learn when they come
back (a restart), which real Velero uses to mark the jobs it was running as Failed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from .context import SimHub

__all__ = ["DeploymentGate"]


class DeploymentGate:
    """Follows one Deployment's readyReplicas; ``restarted`` listeners run on each not-ready → ready turn."""

    def __init__(self, hub: SimHub, namespace: str, name: str) -> None:
        self.hub = hub
        self.namespace = namespace
        self.name = name
        self.ready = asyncio.Event()
        self._stopped: list[Callable[[], None]] = []
        self._restarted: list[Callable[[], None]] = []
        if self._is_ready():
            self.ready.set()

    def on_stop(self, listener: Callable[[], None]) -> None:
        self._stopped.append(listener)

    def on_restart(self, listener: Callable[[], None]) -> None:
        self._restarted.append(listener)

    def _is_ready(self) -> bool:
        store = self.hub.store
        deploy = store.find(store.type_of("deployments", "apps"), self.namespace, self.name)
        return deploy is not None and int((deploy.obj.get("status") or {}).get("readyReplicas") or 0) > 0

    async def run(self) -> None:
        store = self.hub.store
        with store.watch(store.type_of("deployments", "apps"), self.namespace,
                         field_selector=f"metadata.name={self.name}") as watch:
            async for _, _stored in watch:
                self.update()

    def update(self) -> None:
        up = self._is_ready()
        if up == self.ready.is_set():
            return
        if up:
            self.ready.set()
        else:
            self.ready.clear()
        for listener in list(self._restarted if up else self._stopped):
            listener()
