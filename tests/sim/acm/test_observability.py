"""Observability on the active hub: the MultiClusterObservability, its workloads and pods, pods that
come back, and an operator that undoes manual scaling after a while."""

from __future__ import annotations

import time

import pytest

from asyncswitch.sim.acm import profile_named

from .resources import (
    ACM_NS,
    MCOS,
    OBSERVABILITY_NS,
    Hub,
    delete,
    deployments,
    pods,
    statefulsets,
    until,
)
from .watching import Obj, by_name, conditions, labels, name_of, phase

API = "observability-observatorium-api"
COMPACT = "observability-thanos-compact"
OBS_LABEL = "observability.open-cluster-management.io/name"


def running(objs: list[Obj], app: str) -> list[Obj]:
    return [o for o in objs if labels(o).get("app.kubernetes.io/name") == app and phase(o) == "Running"
            and not o["metadata"].get("deletionTimestamp")]


def replicas(obj: Obj | None) -> int | None:
    return None if obj is None else int(obj["spec"]["replicas"])


async def test_hub_a_runs_observability_and_hub_b_does_not(hub_a: Hub, hub_b: Hub) -> None:
    (mco,) = await until(hub_a, MCOS, bool)
    assert name_of(mco) == "observability"
    assert await until(hub_b, MCOS, lambda objs: True) == []

    api = by_name(await until(hub_a, deployments(OBSERVABILITY_NS), lambda objs: API in by_name(objs)))[API]
    compact = by_name(await until(hub_a, statefulsets(OBSERVABILITY_NS), lambda objs: COMPACT in by_name(objs)))[
        COMPACT]
    assert (replicas(api), replicas(compact)) == (2, 1)

    obs_pods = await until(hub_a, pods(OBSERVABILITY_NS), lambda objs: len(running(objs, "observatorium-api")) == 2
                           and len(running(objs, "thanos-compact")) == 1)
    assert [name_of(o) for o in running(obs_pods, "thanos-compact")] == [f"{COMPACT}-0"]
    assert all(labels(o).get(OBS_LABEL) == "observability" for o in obs_pods)
    assert all(conditions(o).get("Ready") == "True" for o in obs_pods)
    assert await until(hub_b, pods(OBSERVABILITY_NS), lambda objs: True) == []


@pytest.mark.parametrize("hub_name", ["hub-a", "hub-b"])
async def test_the_observability_operator_pod_runs_in_the_acm_namespace(hubs: dict[str, Hub], hub_name: str) -> None:
    operator = await until(hubs[hub_name], pods(ACM_NS), lambda objs: any(phase(o) == "Running" for o in objs),
                           label_selector="name=multicluster-observability-operator")
    assert len(operator) == 1


async def test_a_deleted_observatorium_pod_is_replaced_and_a_compactor_pod_comes_back_under_its_name(
    hub_a: Hub,
) -> None:
    objs = await until(hub_a, pods(OBSERVABILITY_NS), lambda objs: len(running(objs, "observatorium-api")) == 2
                       and len(running(objs, "thanos-compact")) == 1)
    victim = name_of(running(objs, "observatorium-api")[0])
    compact_uid = running(objs, "thanos-compact")[0]["metadata"]["uid"]
    await hub_a.core.delete_namespaced_pod(victim, OBSERVABILITY_NS)
    await hub_a.core.delete_namespaced_pod(f"{COMPACT}-0", OBSERVABILITY_NS)

    def healed(objs: list[Obj]) -> bool:
        api_pods = running(objs, "observatorium-api")
        compact_pods = running(objs, "thanos-compact")
        return (len(api_pods) == 2 and victim not in {name_of(o) for o in api_pods} and len(compact_pods) == 1
                and compact_pods[0]["metadata"]["uid"] != compact_uid)

    objs = await until(hub_a, pods(OBSERVABILITY_NS), healed)
    assert name_of(running(objs, "thanos-compact")[0]) == f"{COMPACT}-0"


REVERTING = profile_named("fast")


@pytest.mark.sim(profile=REVERTING, mco_reverts_scaling=True)
async def test_the_operator_scales_a_stopped_compactor_back_to_one_after_a_while(hub_a: Hub) -> None:
    await hub_a.apps.patch_namespaced_stateful_set_scale(COMPACT, OBSERVABILITY_NS, {"spec": {"replicas": 0}})
    scaled_at = time.monotonic()
    await until(hub_a, pods(OBSERVABILITY_NS), lambda objs: not running(objs, "thanos-compact")
                and COMPACT + "-0" not in by_name(objs))
    objs = await until(hub_a, statefulsets(OBSERVABILITY_NS), lambda objs: replicas(by_name(objs)[COMPACT]) == 1)
    reverted_at = time.monotonic()
    assert by_name(objs)[COMPACT]["status"]["readyReplicas"] in (0, 1)
    await until(hub_a, pods(OBSERVABILITY_NS), lambda objs: len(running(objs, "thanos-compact")) == 1)
    lower = REVERTING.mco_revert_after * (1 - REVERTING.jitter) / REVERTING.speed
    assert reverted_at - scaled_at >= lower / 2


NOT_REVERTING = profile_named("fast", speed=1000)


@pytest.mark.sim(profile=NOT_REVERTING, mco_reverts_scaling=False)
async def test_with_reverting_off_a_stopped_compactor_stays_stopped(hub_a: Hub) -> None:
    await hub_a.apps.patch_namespaced_stateful_set_scale(COMPACT, OBSERVABILITY_NS, {"spec": {"replicas": 0}})
    await until(hub_a, pods(OBSERVABILITY_NS), lambda objs: not running(objs, "thanos-compact"))
    quiet = 5 * NOT_REVERTING.mco_revert_after * (1 + NOT_REVERTING.jitter) / NOT_REVERTING.speed
    with pytest.raises(TimeoutError):
        await until(hub_a, statefulsets(OBSERVABILITY_NS), lambda objs: replicas(by_name(objs)[COMPACT]) != 0,
                    timeout=quiet)


async def test_deleting_the_observability_resource_removes_its_workloads_and_pods(hub_a: Hub) -> None:
    await delete(hub_a, MCOS, "observability")
    await until(hub_a, MCOS, lambda objs: not objs)
    await until(hub_a, deployments(OBSERVABILITY_NS), lambda objs: API not in by_name(objs))
    await until(hub_a, statefulsets(OBSERVABILITY_NS), lambda objs: COMPACT not in by_name(objs))
    await until(hub_a, pods(OBSERVABILITY_NS), lambda objs: not objs)
