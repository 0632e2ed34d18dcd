"""A stand-in for the kube-controller-manager and kubelets: Deployments and StatefulSets get pods.

Pods appear Pending, turn Running and Ready after the profile's pod start time, come back
when deleted, are replaced on a rollout restart and go away on scale-down. Workload status
(replicas, readyReplicas, availableReplicas, observedGeneration) follows.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from typing import Any

from ..errors import ApiError
from ..resources import ResourceType
from ..store import DELETED, StoredObject
from .context import SimHub, SimWorld
from .ops import condition, now_iso, patch_status

__all__ = ["WorkloadController"]

_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


class WorkloadController:
    def __init__(self, hub: SimHub, world: SimWorld) -> None:
        self.hub = hub
        self.world = world
        self.store = hub.store
        self.pods = self.store.type_of("pods")
        self._dirty: asyncio.Queue[tuple[ResourceType, str, str]] = asyncio.Queue()
        self._starting: set[tuple[str, str]] = set()

    async def run(self) -> None:
        for plural in ("deployments", "statefulsets"):
            self.world.spawn(self._watch_workloads(self.store.type_of(plural, "apps")),
                             f"sim:{self.hub.name}:workloads:{plural}")
        self.world.spawn(self._watch_pods(), f"sim:{self.hub.name}:workloads:pods")
        while True:
            rtype, namespace, name = await self._dirty.get()
            self.reconcile(rtype, namespace, name)

    async def _watch_workloads(self, rtype: ResourceType) -> None:
        with self.store.watch(rtype) as watch:
            async for _, stored in watch:
                self._dirty.put_nowait((rtype, stored.namespace or "", stored.name))

    async def _watch_pods(self) -> None:
        with self.store.watch(self.pods) as watch:
            async for kind, stored in watch:
                owner = (stored.obj["metadata"].get("annotations") or {}).get("asyncswitch.io/owner")
                if owner:
                    plural, _, name = owner.partition("/")
                    self._dirty.put_nowait((self.store.type_of(plural, "apps"), stored.namespace or "", name))
                if kind == DELETED:
                    self._starting.discard((stored.namespace or "", stored.name))

    def reconcile(self, rtype: ResourceType, namespace: str, name: str) -> None:
        workload = self.store.find(rtype, namespace, name)
        owned = self._owned_pods(rtype, namespace, name)
        if workload is None or workload.obj["metadata"].get("deletionTimestamp"):
            for pod in owned:
                self._delete_pod(pod)
            return
        spec = workload.obj.get("spec") or {}
        replicas = int(spec.get("replicas", 1))
        template = spec.get("template") or {}
        revision = hashlib.sha1(repr(sorted((template.get("metadata") or {}).get("annotations", {}).items())).encode()
                                + repr(template.get("spec")).encode()).hexdigest()[:10]
        live = [p for p in owned if not p.obj["metadata"].get("deletionTimestamp")]
        current = [p for p in live if (p.obj["metadata"].get("labels") or {}).get("pod-template-hash") == revision]
        for pod in live:
            if pod not in current:
                self._delete_pod(pod)  # rollout: replace pods of an older template
        for pod in current[replicas:]:
            self._delete_pod(pod)
        for index in range(len(current), replicas):
            self._create_pod(rtype, workload.obj, template, revision, index)
        ready = sum(1 for p in current[:replicas] if (p.obj.get("status") or {}).get("phase") == "Running")
        patch_status(self.store, rtype, namespace, name, {
            "observedGeneration": workload.obj["metadata"].get("generation", 1),
            "replicas": min(len(current), replicas), "readyReplicas": ready, "availableReplicas": ready,
            "updatedReplicas": min(len(current), replicas), "currentReplicas": min(len(current), replicas),
        })

    def _owned_pods(self, rtype: ResourceType, namespace: str, name: str) -> list[StoredObject]:
        owner = f"{rtype.plural}/{name}"
        return [p for p in self.store.list(self.pods, namespace).items
                if (p.obj["metadata"].get("annotations") or {}).get("asyncswitch.io/owner") == owner]

    def _create_pod(self, rtype: ResourceType, workload: dict[str, Any], template: dict[str, Any],
                    revision: str, index: int) -> None:
        meta = workload["metadata"]
        labels = {**((template.get("metadata") or {}).get("labels") or {}), "pod-template-hash": revision}
        if rtype.plural == "statefulsets":
            pod_name = f"{meta['name']}-{index}"
            if self.store.find(self.pods, meta["namespace"], pod_name):
                return  # the old ordinal is still terminating
        else:
            suffix = "".join(self.world.rng.choice(_ALPHABET) for _ in range(5))
            pod_name = f"{meta['name']}-{revision[:9]}-{suffix}"
        containers = ((template.get("spec") or {}).get("containers")) or [{"name": meta["name"], "image": "sim"}]
        body = {
            "metadata": {"name": pod_name, "namespace": meta["namespace"], "labels": labels,
                         "annotations": {"asyncswitch.io/owner": f"{rtype.plural}/{meta['name']}"},
                         "ownerReferences": [{"apiVersion": rtype.api_version, "kind": rtype.kind,
                                              "name": meta["name"], "uid": meta["uid"], "controller": True}]},
            "spec": {"containers": containers},
        }
        try:
            self.store.create(self.pods, meta["namespace"], body)
        except ApiError:
            return
        self._starting.add((meta["namespace"], pod_name))
        self.world.spawn(self._start(meta["namespace"], pod_name, containers),
                         f"sim:{self.hub.name}:pod-start:{pod_name}")

    async def _start(self, namespace: str, name: str, containers: list[dict[str, Any]]) -> None:
        await self.world.clock.sleep(self.world.clock.profile.pod_start)
        if (namespace, name) not in self._starting:
            return
        self._starting.discard((namespace, name))
        patch_status(self.store, self.pods, namespace, name, {
            "phase": "Running",
            "startTime": now_iso(),
            "conditions": [condition("Ready", "True", "PodReady"), condition("ContainersReady", "True", "")],
            "containerStatuses": [_container_status(c) for c in containers],
        })

    def _delete_pod(self, pod: StoredObject) -> None:
        self._starting.discard((pod.namespace or "", pod.name))
        with contextlib.suppress(ApiError):
            self.store.delete(self.pods, pod.namespace, pod.name)


def _container_status(container: dict[str, Any]) -> dict[str, Any]:
    """A running container's status, with every field a typed client requires (image and imageID too)."""
    image = str(container.get("image") or "registry.sim/unknown:latest")
    repository = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
    digest = hashlib.sha256(image.encode()).hexdigest()
    return {"name": container.get("name", "c"), "image": image, "imageID": f"{repository}@sha256:{digest}",
            "ready": True, "restartCount": 0, "started": True, "state": {"running": {"startedAt": now_iso()}}}
