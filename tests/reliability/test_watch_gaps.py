"""Every stretch a watch could not see is recorded: each monitor under its own name (ACM's and Velero's
Restore apart), a gap still open when the cycle ends, and the gaps of the pipeline's own wait-watches."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from asyncswitch.engine import AlertThresholds, Monitors
from asyncswitch.kube import MANAGED_CLUSTERS, Hub, ResourceCache
from asyncswitch.sim.acm import SimulatedHubPair
from asyncswitch.sim.faults import FaultRule

from ..engine.support import instant_pair, read_json, run_config, run_engine

MC = "managedclusters.cluster.open-cluster-management.io"


@pytest.fixture
async def pair() -> AsyncIterator[SimulatedHubPair]:
    async with SimulatedHubPair(instant_pair(clusters=3)) as started:
        yield started


Published = list[tuple[str, dict[str, Any]]]


@asynccontextmanager
async def running_monitors(pair: SimulatedHubPair, tmp_path: Path, published: Published | None = None, *,
                           thresholds: AlertThresholds | None = None,
                           activation_started: Callable[[], float | None] = lambda: None,
                           ) -> AsyncIterator[tuple[Monitors, Hub]]:
    """The monitors of both hubs, their first lists in and their streams open; yields them and hub-b's
    client, and closes them when the block ends."""
    sink = published if published is not None else []
    kubeconfig = pair.write_kubeconfig(tmp_path / "kubeconfig")
    async with Hub.connect(kubeconfig, "hub-a") as hub_a, Hub.connect(kubeconfig, "hub-b") as hub_b:
        monitors = Monitors({"hub-a": hub_a, "hub-b": hub_b}, publish=lambda k, d: sink.append((k, d)),
                            thresholds=thresholds or AlertThresholds(), new_hub="hub-b",
                            activation_started=activation_started)
        async with asyncio.TaskGroup() as tg:
            try:
                await monitors.run(task_group=tg)
                await asyncio.sleep(0.3)  # their first lists are in; now their streams are open too
                yield monitors, hub_b
            finally:
                monitors.close()


def _monitors(run_dir: Path, cycle_id: str = "cycle-0001") -> dict[str, Any]:
    result = read_json(run_dir / "cycles" / cycle_id / "result.json")
    return {m["name"]: m for m in result["monitors"]}


async def test_acm_and_velero_restores_are_two_monitors(pair: SimulatedHubPair, tmp_path: Path) -> None:
    run = await run_engine(run_config(tmp_path, cycles=1), pair)

    names = set(_monitors(run.result.run_dir))
    for hub in ("hub-a", "hub-b"):
        assert {f"restores.cluster.open-cluster-management.io@{hub}", f"restores.velero.io@{hub}"} <= names
    assert len(names) == 16  # 8 kinds on each hub, none hiding another


async def test_the_gaps_of_the_pipelines_own_watches_are_recorded(pair: SimulatedHubPair, tmp_path: Path) -> None:
    async with running_monitors(pair, tmp_path) as (monitors, hub_b):
        # The monitors' watches are open: the next cluster watch on hub-b is a wait of the pipeline's
        # (post-activation waits for the clusters this way), and its history is gone (410).
        pair.hub_b.faults.expire_next_watches(MC)
        async with ResourceCache(hub_b, MANAGED_CLUSTERS), asyncio.timeout(10):
            while f"pipeline:{MC}@hub-b" not in monitors.health:  # noqa: ASYNC110 (health has no event)
                await asyncio.sleep(0.02)

    assert [g.reason for g in monitors.health[f"pipeline:{MC}@hub-b"].gaps] == ["expired"]
    assert not monitors.health[f"{MC}@hub-b"].gaps  # the monitor's own watch saw everything


async def test_a_gap_still_open_when_the_monitors_stop_is_recorded(pair: SimulatedHubPair, tmp_path: Path) -> None:
    published: Published = []
    async with running_monitors(pair, tmp_path, published) as (monitors, _):
        # hub-b stops serving cluster watches: the monitor's reconnects fail, its gap stays open.
        pair.hub_b.faults.add(FaultRule(verb="watch", resource=MC, error_rate=1.0, status=503))
        pair.hub_b.drop_watches(MC)
        await asyncio.sleep(0.3)

    gaps = monitors.health[f"{MC}@hub-b"].gaps
    assert [g.reason for g in gaps] == ["disconnected"]
    assert gaps[0].duration >= 0.2
    assert [d["resource"] for k, d in published if k == "alert" and d["rule"] == "watch_gap"] == [f"{MC}@hub-b"]


async def test_a_stall_under_the_inactivity_limit_is_recorded_and_the_latencies_it_distorted_are_marked(
        pair: SimulatedHubPair, tmp_path: Path) -> None:
    published: Published = []
    # Activation has started, hub-b is the new hub: a cluster turning Available there is a reconnect.
    async with running_monitors(pair, tmp_path, published, thresholds=AlertThresholds(watch_stall=0.3),
                                activation_started=lambda: 0.0) as (monitors, hub_b):
        pair.hub_b.faults.stall_watches()  # every watch of hub-b, well under the 70 s inactivity limit
        try:
            # A cluster joins hub-b while its watches deliver nothing.
            await hub_b.create(MANAGED_CLUSTERS, {"apiVersion": "cluster.open-cluster-management.io/v1",
                                                  "kind": "ManagedCluster", "metadata": {"name": "late"},
                                                  "spec": {"hubAcceptsClient": True}})
            await hub_b.patch(MANAGED_CLUSTERS, "late", {"status": {"conditions": [
                {"type": "ManagedClusterConditionAvailable", "status": "True", "reason": "Test",
                 "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}}, subresource="status")
            await asyncio.sleep(1.0)
        finally:
            pair.hub_b.faults.unstall_watches()
        async with asyncio.timeout(10):
            while not [d for k, d in published if k == "cluster_reconnected"]:  # noqa: ASYNC110
                await asyncio.sleep(0.02)

    stalled = [g for g in monitors.health[f"{MC}@hub-b"].gaps if g.reason == "stalled"]
    assert len(stalled) == 1
    assert stalled[0].duration >= 1.0
    assert [d["hub"] for k, d in published if k == "alert" and d["rule"] == "watch_stall"] == ["hub-b"]
    reconnected = [d for k, d in published if k == "cluster_reconnected"]
    assert [(d["cluster"], d["distorted"]) for d in reconnected] == [("late", True)]
    assert all(d["distorted"] for k, d in published if k == "reaction" and d["hub"] == "hub-b")


async def test_a_pipeline_watch_closed_while_blind_records_its_gap(pair: SimulatedHubPair, tmp_path: Path) -> None:
    async with running_monitors(pair, tmp_path) as (monitors, hub_b):
        async with ResourceCache(hub_b, MANAGED_CLUSTERS) as clusters:
            await clusters.wait_for(bool, timeout=10, description="the clusters listed")
            await asyncio.sleep(0.2)
            # Only new watches fail: the cache's is dropped and cannot come back.
            pair.hub_b.faults.add(FaultRule(verb="watch", resource=MC, error_rate=1.0, status=503))
            pair.hub_b.drop_watches(MC)
            await asyncio.sleep(0.3)
        assert f"pipeline:{MC}@hub-b" in monitors.health  # recorded when the wait ended, still blind

    assert [g.reason for g in monitors.health[f"pipeline:{MC}@hub-b"].gaps] == ["disconnected"]
