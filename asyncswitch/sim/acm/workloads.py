"""A stand-in for the kube-controller-manager and kubelets: Deployments and StatefulSets get pods.

Pods appear Pending (scheduled, containers being created), turn Running and Ready after the
profile's pod start time, come back when deleted and go away on scale-down. A Deployment whose
template changes rolls out (RollingUpdate with maxSurge/maxUnavailable, 25 % each by default,
or Recreate); a StatefulSet replaces its pods at once. Workload status (replicas, updated,
ready and available replicas, observedGeneration, and a Deployment's Available and Progressing
conditions) follows.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import math
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
        if rtype.plural == "deployments":
            self._roll(rtype, workload.obj, owned, replicas, template, revision)
            return
        live = [p for p in owned if not p.obj["metadata"].get("deletionTimestamp")]
        current = [p for p in live if (p.obj["metadata"].get("labels") or {}).get("pod-template-hash") == revision]
        for pod in live:
            if pod not in current:
                self._delete_pod(pod)  # a StatefulSet rollout: replace pods of an older template
        for pod in current[replicas:]:
            self._delete_pod(pod)
        for index in range(len(current), replicas):
            self._create_pod(rtype, workload.obj, template, revision, index)
        ready = sum(1 for p in current[:replicas] if _ready(p))
        patch_status(self.store, rtype, namespace, name, {
            "observedGeneration": workload.obj["metadata"].get("generation", 1),
            "replicas": min(len(current), replicas), "readyReplicas": ready, "availableReplicas": ready,
            "updatedReplicas": min(len(current), replicas), "currentReplicas": min(len(current), replicas),
        })

    def _roll(self, rtype: ResourceType, deployment: dict[str, Any], owned: list[StoredObject], replicas: int,
              template: dict[str, Any], revision: str) -> None:
        """One pass of the deployment controller, with pods standing in for ReplicaSets.

        RollingUpdate: new pods while the total stays within replicas + maxSurge, old pods go
        while the ready ones stay at or above replicas - maxUnavailable (unready old ones first).
        Recreate: the old pods go before new ones are made.
        """
        namespace = deployment["metadata"]["namespace"]
        strategy = (deployment.get("spec") or {}).get("strategy") or {}
        surge, unavailable = _rolling_limits(strategy, replicas)
        live = [p for p in owned if not p.obj["metadata"].get("deletionTimestamp")]
        new = [p for p in live if (p.obj["metadata"].get("labels") or {}).get("pod-template-hash") == revision]
        old = [p for p in live if p not in new]
        if strategy.get("type") == "Recreate":
            for pod in old:
                self._delete_pod(pod)
            old = []
        if len(new) > replicas:  # scaled down: unready pods go first, then the newest
            by_keep = sorted(new, key=lambda p: (_ready(p), -p.rv))
            for pod in by_keep[:len(new) - replicas]:
                self._delete_pod(pod)
            new = [p for p in new if self.store.find(self.pods, namespace, p.name) is not None]
        room = replicas - len(new) if not old else min(replicas - len(new), replicas + surge - len(new) - len(old))
        created = sum(self._create_pod(rtype, deployment, template, revision, len(new) + i) for i in range(room))
        if old:
            ready_new = sum(1 for p in new if _ready(p))
            min_available = replicas - unavailable
            budget = len(new) + created + len(old) - min_available - (len(new) + created - ready_new)
            unhealthy = [p for p in old if not _ready(p)][:max(0, budget)]
            healthy = [p for p in old if _ready(p)]
            ready_total = ready_new + len(healthy)
            for pod in [*unhealthy, *healthy[:max(0, min(budget - len(unhealthy), ready_total - min_available))]]:
                self._delete_pod(pod)
        self._deployment_status(deployment, replicas, unavailable, revision)

    def _deployment_status(self, deployment: dict[str, Any], replicas: int, max_unavailable: int,
                           revision: str) -> None:
        meta = deployment["metadata"]
        rtype = self.store.type_of("deployments", "apps")
        live = [p for p in self._owned_pods(rtype, meta["namespace"], meta["name"])
                if not p.obj["metadata"].get("deletionTimestamp")]
        updated = sum(1 for p in live if (p.obj["metadata"].get("labels") or {}).get("pod-template-hash") == revision)
        ready = sum(1 for p in live if _ready(p))
        replica_set = f'ReplicaSet "{meta["name"]}-{revision[:9]}"'
        done = updated == replicas == len(live) and ready >= replicas
        available = ready >= replicas - max_unavailable
        existing = (deployment.get("status") or {}).get("conditions") or []
        patch_status(self.store, rtype, meta["namespace"], meta["name"], {
            "observedGeneration": meta.get("generation", 1),
            "replicas": len(live), "updatedReplicas": updated, "readyReplicas": ready, "availableReplicas": ready,
            "unavailableReplicas": max(0, max(replicas, len(live)) - ready) or None,  # omitted when 0
            "conditions": [
                _deployment_condition(existing, "Available", available,
                                      "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
                                      "Deployment has minimum availability." if available
                                      else "Deployment does not have minimum availability."),
                _deployment_condition(existing, "Progressing", True,
                                      "NewReplicaSetAvailable" if done else "ReplicaSetUpdated",
                                      f"{replica_set} has successfully progressed." if done
                                      else f"{replica_set} is progressing."),
            ],
        })

    def _owned_pods(self, rtype: ResourceType, namespace: str, name: str) -> list[StoredObject]:
        owner = f"{rtype.plural}/{name}"
        return [p for p in self.store.list(self.pods, namespace).items
                if (p.obj["metadata"].get("annotations") or {}).get("asyncswitch.io/owner") == owner]

    def _create_pod(self, rtype: ResourceType, workload: dict[str, Any], template: dict[str, Any],
                    revision: str, index: int) -> bool:
        """Create a pod of the template, scheduled and Pending until the profile's pod start time."""
        meta = workload["metadata"]
        labels = {**((template.get("metadata") or {}).get("labels") or {}), "pod-template-hash": revision}
        if rtype.plural == "statefulsets":
            pod_name = f"{meta['name']}-{index}"
            if self.store.find(self.pods, meta["namespace"], pod_name):
                return False  # the old ordinal is still terminating
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
            return False
        # Scheduled at once: PodScheduled and Initialized, containers being created.
        patch_status(self.store, self.pods, meta["namespace"], pod_name, {
            "phase": "Pending", "startTime": now_iso(), "qosClass": "BestEffort",
            "conditions": _pod_conditions(ready=False, containers=containers),
            "containerStatuses": [_container_status(c, running=False) for c in containers],
        })
        self._starting.add((meta["namespace"], pod_name))
        self.world.spawn(self._start(meta["namespace"], pod_name, containers),
                         f"sim:{self.hub.name}:pod-start:{pod_name}")
        return True

    async def _start(self, namespace: str, name: str, containers: list[dict[str, Any]]) -> None:
        await self.world.clock.sleep(self.world.clock.profile.pod_start)
        if (namespace, name) not in self._starting:
            return
        self._starting.discard((namespace, name))
        patch_status(self.store, self.pods, namespace, name, {
            "phase": "Running", "podIP": _pod_ip(namespace, name), "podIPs": [{"ip": _pod_ip(namespace, name)}],
            "conditions": _pod_conditions(ready=True, containers=containers),
            "containerStatuses": [_container_status(c, running=True) for c in containers],
        })

    def _delete_pod(self, pod: StoredObject) -> None:
        self._starting.discard((pod.namespace or "", pod.name))
        with contextlib.suppress(ApiError):
            self.store.delete(self.pods, pod.namespace, pod.name)


def _ready(pod: StoredObject) -> bool:
    return (pod.obj.get("status") or {}).get("phase") == "Running" and not pod.obj["metadata"].get("deletionTimestamp")


def _rolling_limits(strategy: dict[str, Any], replicas: int) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) in pods: 25 % each by default, surge rounded up and unavailable down."""
    rolling = strategy.get("rollingUpdate") or {}

    def resolve(value: Any, round_up: bool) -> int:
        if isinstance(value, str) and value.endswith("%"):
            share = replicas * int(value[:-1]) / 100
            return math.ceil(share) if round_up else math.floor(share)
        return int(value)

    surge = resolve(rolling.get("maxSurge", "25%"), True)
    unavailable = resolve(rolling.get("maxUnavailable", "25%"), False)
    if surge == 0 and unavailable == 0:
        unavailable = 1  # as the API server's validation forces: a rollout must be able to move
    return surge, unavailable


def _deployment_condition(existing: list[dict[str, Any]], kind: str, status: bool, reason: str,
                          message: str) -> dict[str, Any]:
    """A Deployment condition; unchanged ones keep their times, and a status flip moves lastTransitionTime."""
    text = "True" if status else "False"
    old = next((c for c in existing if c.get("type") == kind), None)
    if old is not None and (old.get("status"), old.get("reason"), old.get("message")) == (text, reason, message):
        return dict(old)
    now = now_iso()
    transition = now if old is None or old.get("status") != text else old.get("lastTransitionTime", now)
    return {"type": kind, "status": text, "lastUpdateTime": now, "lastTransitionTime": transition,
            "reason": reason, "message": message}


def _pod_conditions(*, ready: bool, containers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if ready:
        return [condition("Initialized", "True", ""), condition("Ready", "True", ""),
                condition("ContainersReady", "True", ""), condition("PodScheduled", "True", "")]
    names = " ".join(str(c.get("name", "c")) for c in containers)
    unready = f"containers with unready status: [{names}]"
    return [condition("Initialized", "True", ""), condition("Ready", "False", "ContainersNotReady", unready),
            condition("ContainersReady", "False", "ContainersNotReady", unready),
            condition("PodScheduled", "True", "")]


def _pod_ip(namespace: str, name: str) -> str:
    digest = hashlib.sha1(f"{namespace}/{name}".encode()).digest()
    return f"10.128.{digest[0]}.{digest[1] % 254 + 1}"


def _container_status(container: dict[str, Any], *, running: bool) -> dict[str, Any]:
    """A container's status, with every field a typed client requires (image and imageID too)."""
    image = str(container.get("image") or "registry.sim/unknown:latest")
    repository = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
    digest = hashlib.sha256(image.encode()).hexdigest()
    if not running:
        return {"name": container.get("name", "c"), "image": image, "imageID": "", "ready": False,
                "restartCount": 0, "started": False, "state": {"waiting": {"reason": "ContainerCreating"}}}
    return {"name": container.get("name", "c"), "image": image, "imageID": f"{repository}@sha256:{digest}",
            "ready": True, "restartCount": 0, "started": True, "state": {"running": {"startedAt": now_iso()}}}
