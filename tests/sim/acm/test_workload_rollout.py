"""Deployments on the simulated hubs roll out as the deployment controller does: a new pod is
scheduled and Pending, runs, and only then does an old one go (RollingUpdate), or the old ones go
first (Recreate); the Deployment's status and conditions say where the rollout is."""

from __future__ import annotations

from typing import Any

from .resources import Hub, deployments, pods, snap, until
from .watching import Obj, by_name, conditions, name_of, phase

NS = "default"


def web(name: str, *, replicas: int, strategy: dict[str, Any] | None = None) -> dict[str, Any]:
    labels = {"app": name}
    spec: dict[str, Any] = {"replicas": replicas, "selector": {"matchLabels": labels},
                            "template": {"metadata": {"labels": labels},
                                         "spec": {"containers": [{"name": "main", "image": "nginx:1.27"}]}}}
    if strategy:
        spec["strategy"] = strategy
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": labels}, "spec": spec}


def live(objs: list[Obj], app: str) -> list[Obj]:
    return [o for o in objs if (o["metadata"].get("labels") or {}).get("app") == app
            and not o["metadata"].get("deletionTimestamp")]


def running(objs: list[Obj], app: str) -> list[Obj]:
    return [o for o in live(objs, app) if phase(o) == "Running"]


async def restart(hub: Hub, name: str) -> None:
    """What ``kubectl rollout restart`` does: a new annotation on the pod template."""
    await hub.apps.patch_namespaced_deployment(name, NS, {"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": "2026-01-01T00:00:00Z"}}}}})


async def settled(hub: Hub, name: str, replicas: int) -> set[str]:
    await hub.apps.create_namespaced_deployment(NS, web(name, replicas=replicas))
    objs = await until(hub, pods(NS), lambda objs: len(running(objs, name)) == replicas == len(live(objs, name)))
    return {name_of(o) for o in live(objs, name)}


async def test_a_restarted_deployment_replaces_its_pods_one_at_a_time_within_surge_and_availability(
    hub_a: Hub,
) -> None:
    old = await settled(hub_a, "roll", 2)
    pods_before, deploy_before = await snap(hub_a, pods(NS)), await snap(hub_a, deployments(NS))
    await restart(hub_a, "roll")

    states: list[list[Obj]] = []

    def rolled(objs: list[Obj]) -> bool:
        states.append(live(objs, "roll"))
        now = live(objs, "roll")
        return len(now) == 2 and not {name_of(o) for o in now} & old and len(running(objs, "roll")) == 2

    await until(hub_a, pods(NS), rolled, after=pods_before)
    # maxSurge 25 % of 2 rounds up to 1 and maxUnavailable down to 0:
    # never more than 3 pods, never fewer than 2 Running.
    assert max(len(s) for s in states) == 3
    assert min(sum(1 for o in s if phase(o) == "Running") for s in states) == 2
    # A new pod was scheduled and Pending, with its conditions, before it ran; old pods went one by one.
    pending = [o for s in states for o in s if phase(o) == "Pending" and conditions(o)]
    assert pending
    assert conditions(pending[0]) == {"PodScheduled": "True", "Initialized": "True", "Ready": "False",
                                      "ContainersReady": "False"}
    old_left = [len({name_of(o) for o in s} & old) for s in states]
    assert old_left == sorted(old_left, reverse=True)
    assert set(old_left) == {2, 1, 0}

    progress: list[tuple[Any, ...]] = []

    def complete(objs: list[Obj]) -> bool:
        status = by_name(objs)["roll"].get("status") or {}
        reason = {c["type"]: c.get("reason") for c in status.get("conditions") or []}.get("Progressing")
        if status.get("observedGeneration") != 2:
            return False  # the snapshot's state: the first rollout, before the restart was seen
        progress.append((status.get("updatedReplicas"), status.get("replicas"), reason))
        return reason == "NewReplicaSetAvailable"

    await until(hub_a, deployments(NS), complete, after=deploy_before)
    assert (1, 3, "ReplicaSetUpdated") in progress, progress
    assert progress[-1] == (2, 2, "NewReplicaSetAvailable")
    final = by_name(await until(hub_a, deployments(NS), lambda objs: True))["roll"]
    assert final["status"]["observedGeneration"] == final["metadata"]["generation"] == 2
    assert {k: final["status"].get(k) for k in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas",
                                                "unavailableReplicas")} == {
        "replicas": 2, "updatedReplicas": 2, "readyReplicas": 2, "availableReplicas": 2, "unavailableReplicas": None}
    assert conditions(final) == {"Available": "True", "Progressing": "True"}


async def test_a_recreate_deployment_removes_its_old_pods_before_starting_new_ones(hub_a: Hub) -> None:
    body = web("recreate", replicas=2, strategy={"type": "Recreate"})
    await hub_a.apps.create_namespaced_deployment(NS, body)
    objs = await until(hub_a, pods(NS), lambda objs: len(running(objs, "recreate")) == 2)
    old = {name_of(o) for o in live(objs, "recreate")}
    before = await snap(hub_a, pods(NS))
    await restart(hub_a, "recreate")
    mixed: list[set[str]] = []

    def replaced(objs: list[Obj]) -> bool:
        names = {name_of(o) for o in live(objs, "recreate")}
        if names & old and names - old:
            mixed.append(names)
        return len(running(objs, "recreate")) == 2 and not names & old

    await until(hub_a, pods(NS), replaced, after=before)
    assert mixed == []


async def test_scaling_up_a_deployment_adds_pending_pods_that_then_run(hub_a: Hub) -> None:
    await settled(hub_a, "grow", 1)
    pods_before, deploy_before = await snap(hub_a, pods(NS)), await snap(hub_a, deployments(NS))
    await hub_a.apps.patch_namespaced_deployment_scale("grow", NS, {"spec": {"replicas": 3}})
    seen: list[int] = []

    def grown(objs: list[Obj]) -> bool:
        seen.append(len(running(objs, "grow")))
        return len(running(objs, "grow")) == 3

    await until(hub_a, pods(NS), grown, after=pods_before)
    assert seen[0] == 1
    states: list[tuple[Any, ...]] = []

    def available(objs: list[Obj]) -> bool:
        status = by_name(objs)["grow"].get("status") or {}
        states.append((status.get("updatedReplicas"), status.get("replicas"), status.get("availableReplicas")))
        return status.get("availableReplicas") == 3

    await until(hub_a, deployments(NS), available, after=deploy_before)
    # The state kubectl rollout status prints as "1 of 3 updated replicas are available...".
    assert (3, 3, 1) in states
