"""ResourceCache: a watched set of objects, and waits on predicates over the whole set."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator

import pytest

from asyncswitch.kube import (
    CONFIG_MAPS,
    MANAGED_CLUSTERS,
    NotFoundError,
    Objects,
    Predicate,
    ResourceCache,
    WaitTimeout,
)
from asyncswitch.kube import Hub as KubeHub
from asyncswitch.sim import ApiServer
from asyncswitch.sim.acm.kinds import MANAGED_CLUSTERS as SIM_MANAGED_CLUSTERS

from .support import DEADLINE, put, remove


@pytest.fixture
async def configmaps(kube: KubeHub, namespace: str) -> AsyncIterator[ResourceCache]:
    async with ResourceCache(kube, CONFIG_MAPS, namespace=namespace) as cache:
        yield cache


def phase_is(phase: str) -> Predicate:
    return lambda objs: all((o.get("data") or {}).get("phase") == phase for o in objs.values())


async def test_ready_returns_once_the_initial_list_is_in(hub: ApiServer, kube: KubeHub, namespace: str) -> None:
    put(hub, namespace, "a")
    put(hub, namespace, "b")

    async with ResourceCache(kube, CONFIG_MAPS, namespace=namespace) as cache:
        await cache.ready()

        assert sorted(cache.snapshot()) == ["a", "b"]
        assert cache.health.ready
        assert cache.health.lists == 1


async def test_reading_a_cache_before_it_is_ready_is_a_mistake_it_names(kube: KubeHub, namespace: str) -> None:
    cache = ResourceCache(kube, CONFIG_MAPS, namespace=namespace)
    with pytest.raises(RuntimeError, match="async with"):
        await cache.ready()
    async with cache:
        with pytest.raises(RuntimeError, match="ready"):
            cache.snapshot()


async def test_wait_for_returns_at_once_when_the_predicate_already_holds(
        hub: ApiServer, namespace: str, configmaps: ResourceCache) -> None:
    put(hub, namespace, "import-controller-config", autoImportStrategy="ImportOnly")

    seen = await configmaps.wait_for(lambda objs: "import-controller-config" in objs, timeout=DEADLINE,
                                     description="the import config exists")

    assert seen["import-controller-config"]["data"] == {"autoImportStrategy": "ImportOnly"}


async def test_wait_for_sees_changes_made_while_it_waits(
        kube: KubeHub, namespace: str, configmaps: ResourceCache) -> None:
    await configmaps.ready()
    async with asyncio.TaskGroup() as tg:
        waiting = tg.create_task(configmaps.wait_for(lambda objs: "made-later" in objs, timeout=DEADLINE,
                                                     description="made-later exists"))
        await kube.create(CONFIG_MAPS, {"metadata": {"name": "made-later"}}, namespace)

    assert "made-later" in waiting.result()


async def test_a_predicate_over_the_whole_set_holds_only_when_every_object_agrees(
        hub: ApiServer, namespace: str, configmaps: ResourceCache) -> None:
    for name in ("c1", "c2", "c3"):
        put(hub, namespace, name, phase="Running")
    await configmaps.ready()

    async with asyncio.TaskGroup() as tg:
        all_done = tg.create_task(configmaps.wait_for(phase_is("Completed"), timeout=DEADLINE,
                                                      description="every restore Completed"))
        c1_done = tg.create_task(configmaps.wait_for(
            lambda objs: objs["c1"]["data"]["phase"] == "Completed", timeout=DEADLINE, description="c1 Completed"))
        put(hub, namespace, "c1", phase="Completed")
        await c1_done
        assert not all_done.done()
        put(hub, namespace, "c2", phase="Completed")
        put(hub, namespace, "c3", phase="Completed")

    assert {name: o["data"]["phase"] for name, o in all_done.result().items()} == dict.fromkeys(
        ("c1", "c2", "c3"), "Completed")


async def test_a_relist_is_judged_as_one_change_not_object_by_object(
        hub: ApiServer, namespace: str, configmaps: ResourceCache) -> None:
    put(hub, namespace, "old")
    await configmaps.ready()
    put(hub, namespace, "opened")  # a live event: the watch's stream is open
    await configmaps.wait_for(lambda objs: "opened" in objs, timeout=DEADLINE, description="stream open")

    async with asyncio.TaskGroup() as tg:
        empty = tg.create_task(configmaps.wait_for(lambda objs: not objs, timeout=DEADLINE, description="no objects"))
        hub.faults.expire_next_watches("configmaps")
        hub.drop_watches("configmaps")
        remove(hub, namespace, "old")
        remove(hub, namespace, "opened")
        put(hub, namespace, "new")  # the relist deletes two and adds one in a single step
        await configmaps.wait_for(lambda objs: "new" in objs, timeout=DEADLINE, description="the relist applied")
        assert not empty.done()  # "no objects" never held as a whole
        remove(hub, namespace, "new")

    assert empty.result() == {}
    assert configmaps.health.relists == 1
    assert [g.reason for g in configmaps.gaps] == ["expired"]


async def test_a_wait_that_times_out_says_what_it_awaited_and_what_it_saw(
        hub: ApiServer, namespace: str, configmaps: ResourceCache) -> None:
    put(hub, namespace, "restore-acm-passive-sync", phase="Enabled")
    await configmaps.ready()

    with pytest.raises(WaitTimeout) as caught:
        await configmaps.wait_for(lambda objs: not objs, timeout=0.2, description="the passive restore is gone",
                                  summary=lambda objs: ", ".join(f"{k}={o['data']['phase']}" for k, o in objs.items()))

    message = str(caught.value)
    assert message == ("hub: timed out after 0.2 s waiting for the passive restore is gone; "
                       "last seen configmaps: restore-acm-passive-sync=Enabled")
    assert caught.value.description == "the passive restore is gone"


async def test_the_default_summary_names_objects_with_their_phase(
        hub: ApiServer, kube: KubeHub) -> None:
    hub.store.register(SIM_MANAGED_CLUSTERS)
    mcs = hub.store.type_of("managedclusters", "cluster.open-cluster-management.io")
    hub.store.create(mcs, None, {"apiVersion": "cluster.open-cluster-management.io/v1", "kind": "ManagedCluster",
                                 "metadata": {"name": "spoke-1"}})

    async with ResourceCache(kube, MANAGED_CLUSTERS) as clusters:
        with pytest.raises(WaitTimeout, match=r"last seen managedclusters.cluster.open-cluster-management.io: "
                                              r"1 object\(s\): spoke-1$"):
            await clusters.wait_for(lambda objs: len(objs) == 2, timeout=0.2, description="two clusters")


async def test_a_cache_across_namespaces_keys_objects_by_namespace_and_name(
        hub: ApiServer, kube: KubeHub, namespace: str) -> None:
    put(hub, namespace, "same")
    put(hub, "default", "same")

    async with ResourceCache(kube, CONFIG_MAPS, label_selector=None) as everywhere:
        await everywhere.ready()
        keys = sorted(k for k in everywhere.snapshot() if k.endswith("/same"))

    assert keys == ["default/same", f"{namespace}/same"]


async def test_a_predicate_that_raises_fails_its_wait_but_not_the_cache(
        hub: ApiServer, namespace: str, configmaps: ResourceCache) -> None:
    def broken(objs: Objects) -> bool:
        return bool(objs["missing"])

    with pytest.raises(KeyError):
        await configmaps.wait_for(broken, timeout=DEADLINE, description="a broken predicate")

    put(hub, namespace, "fine")
    await configmaps.wait_for(lambda objs: "fine" in objs, timeout=DEADLINE, description="still watching")


async def test_a_watch_that_fails_for_good_fails_ready_instead_of_hanging(kube: KubeHub) -> None:
    async with ResourceCache(kube, MANAGED_CLUSTERS) as clusters:
        with pytest.raises(NotFoundError):
            await clusters.ready()
        with pytest.raises(NotFoundError):
            await clusters.wait_for(lambda objs: True, timeout=DEADLINE, description="anything")


async def test_a_failure_nobody_looked_at_is_raised_when_the_cache_closes(kube: KubeHub) -> None:
    with pytest.raises(NotFoundError):
        async with ResourceCache(kube, MANAGED_CLUSTERS) as clusters:
            await asyncio.wait({clusters.task})  # it fails; nobody asks it how


async def test_the_watch_task_is_named_and_gone_after_the_cache_closes(kube: KubeHub, namespace: str) -> None:
    async with ResourceCache(kube, CONFIG_MAPS, namespace=namespace) as cache:
        await cache.ready()
        names = {t.get_name() for t in asyncio.all_tasks()}
        assert "watch:configmaps@hub" in names

    assert "watch:configmaps@hub" not in {t.get_name() for t in asyncio.all_tasks()}


async def test_a_closed_cache_leaves_no_objects_for_the_cyclic_collector(
        hub: ApiServer, kube: KubeHub, namespace: str) -> None:
    # A wait's cache of 10,000 ManagedClusters that only a full collection frees stays in memory until
    # one runs: between cycles, with RunConfig.gc_between_cycles (docs/performance.md, issue 15).
    for i in range(200):
        put(hub, namespace, f"cm-{i}", phase="Ready")
    gc.collect()
    gc.disable()
    try:
        async with ResourceCache(kube, CONFIG_MAPS, namespace=namespace) as cache:
            await cache.wait_for(phase_is("Ready"), timeout=DEADLINE, description="all Ready")
        del cache
        unreachable = gc.collect()
    finally:
        gc.enable()
    assert unreachable < 200
