"""The monitors' alert rules: each raises one alert per episode, and a time-in-state rule only once
its threshold has passed.

The rules are fed watch events directly (Monitors._observe) on virtual time (looptime), so
"stuck for 300 s" takes no real time; the watch-health rules run real watches against a simulated
pair whose API servers are told to expire or stall them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, cast

import pytest

from asyncswitch.engine import AlertThresholds, Monitors
from asyncswitch.kube import ACM_RESTORES, BACKUP_SCHEDULES, MANAGED_CLUSTERS, ClientSettings, Hub, WatchEvent
from asyncswitch.kube.events import EventType
from asyncswitch.sim.acm import SimulatedHubPair

from .support import instant_pair

BACKUP_NS = "open-cluster-management-backup"
AVAILABLE = "ManagedClusterConditionAvailable"
MC_WATCH = "managedclusters.cluster.open-cluster-management.io"
MC_MONITOR = "managedclusters.cluster.open-cluster-management.io@hub-b"


class Published:
    """What the monitors published, and a queue to wait on it with a deadline."""

    def __init__(self) -> None:
        self.records: list[tuple[str, dict[str, Any]]] = []
        self._queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()

    def __call__(self, kind: str, data: dict[str, Any]) -> None:
        self.records.append((kind, data))
        self._queue.put_nowait((kind, data))

    def alerts(self, rule: str | None = None) -> list[dict[str, Any]]:
        return [d for k, d in self.records if k == "alert" and (rule is None or d["rule"] == rule)]

    async def alert(self, rule: str, *, timeout: float = 20.0) -> dict[str, Any]:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            while True:
                kind, data = await self._queue.get()
                if kind == "alert" and data["rule"] == rule:
                    return data


def monitors_for_rules(published: Published, *, activation_started: float | None = None,
                       thresholds: AlertThresholds | None = None) -> Monitors:
    """Monitors whose rules are fed by hand: no hub is ever contacted, so the hubs are names only."""
    hubs = cast("dict[str, Hub]", dict.fromkeys(("hub-a", "hub-b")))
    return Monitors(hubs, publish=published, thresholds=thresholds or AlertThresholds(), new_hub="hub-b",
                    activation_started=lambda: activation_started)


def event(kind: EventType, obj: dict[str, Any]) -> WatchEvent:
    return WatchEvent(kind, obj, obj["metadata"]["resourceVersion"], asyncio.get_running_loop().time(), time.time())


def schedule(phase: str, *, paused: bool = False, message: str = "") -> dict[str, Any]:
    return {"metadata": {"name": "acm-hub-backup", "namespace": BACKUP_NS, "resourceVersion": "1"},
            "spec": {"paused": paused}, "status": {"phase": phase, "lastMessage": message}}


def cluster(name: str, available: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "resourceVersion": "1"},
            "status": {"conditions": [{"type": AVAILABLE, "status": available}]}}


def restore(phase: str) -> dict[str, Any]:
    return {"metadata": {"name": "restore-acm-passive-sync", "namespace": BACKUP_NS, "resourceVersion": "1"},
            "status": {"phase": phase}}


# -- state rules -----------------------------------------------------------------------------------

async def test_a_backup_collision_raises_one_alert_per_episode() -> None:
    published = Published()
    monitors = monitors_for_rules(published)
    collision = schedule("BackupCollision", message="Backup acm-managed-clusters-schedule was written by hub-a")

    for _ in range(3):
        monitors._observe("hub-b", BACKUP_SCHEDULES, event("MODIFIED", collision))
    assert len(published.alerts("backup_collision")) == 1
    assert published.alerts()[0]["hub"] == "hub-b"
    assert "written by hub-a" in published.alerts()[0]["message"]

    monitors._observe("hub-b", BACKUP_SCHEDULES, event("MODIFIED", schedule("Enabled")))
    monitors._observe("hub-b", BACKUP_SCHEDULES, event("MODIFIED", collision))
    assert len(published.alerts("backup_collision")) == 2


async def test_schedules_enabled_on_both_hubs_raise_one_alert_until_one_is_paused() -> None:
    published = Published()
    monitors = monitors_for_rules(published)

    monitors._observe("hub-a", BACKUP_SCHEDULES, event("MODIFIED", schedule("Enabled")))
    assert published.alerts() == []
    for hub in ("hub-b", "hub-a", "hub-b"):
        monitors._observe(hub, BACKUP_SCHEDULES, event("MODIFIED", schedule("Enabled")))
    assert [(a["rule"], a["hub"]) for a in published.alerts()] == [("two_enabled_schedules", "both")]

    monitors._observe("hub-a", BACKUP_SCHEDULES, event("MODIFIED", schedule("Enabled", paused=True)))
    monitors._observe("hub-a", BACKUP_SCHEDULES, event("MODIFIED", schedule("Enabled")))
    assert len(published.alerts("two_enabled_schedules")) == 2


@pytest.mark.looptime
async def test_a_cluster_unavailable_past_the_threshold_raises_one_alert() -> None:
    published = Published()
    monitors = monitors_for_rules(published)  # default threshold: 300 s
    try:
        monitors._observe("hub-a", MANAGED_CLUSTERS, event("MODIFIED", cluster("cluster-0001", "Unknown")))
        await asyncio.sleep(299)
        monitors._observe("hub-a", MANAGED_CLUSTERS, event("MODIFIED", cluster("cluster-0001", "Unknown")))
        assert published.alerts() == []

        await asyncio.sleep(2)
        alerts = published.alerts("cluster_unavailable")
        assert [(a["hub"], a["resource"]) for a in alerts] == [("hub-a", "cluster-0001")]
        assert "300 s" in alerts[0]["message"]

        monitors._observe("hub-a", MANAGED_CLUSTERS, event("MODIFIED", cluster("cluster-0001", "False")))
        await asyncio.sleep(600)
        assert len(published.alerts()) == 1
    finally:
        monitors.close()


@pytest.mark.looptime
async def test_a_cluster_that_recovers_before_the_threshold_raises_no_alert() -> None:
    published = Published()
    monitors = monitors_for_rules(published, thresholds=AlertThresholds(cluster_unavailable=60.0))
    try:
        monitors._observe("hub-a", MANAGED_CLUSTERS, event("MODIFIED", cluster("cluster-0001", "Unknown")))
        await asyncio.sleep(59)
        monitors._observe("hub-a", MANAGED_CLUSTERS, event("MODIFIED", cluster("cluster-0001", "True")))
        await asyncio.sleep(120)
        assert published.alerts() == []

        # A second episode is timed from its own start.
        monitors._observe("hub-a", MANAGED_CLUSTERS, event("MODIFIED", cluster("cluster-0001", "Unknown")))
        await asyncio.sleep(61)
        assert len(published.alerts("cluster_unavailable")) == 1
    finally:
        monitors.close()


@pytest.mark.looptime
async def test_clusters_unavailable_on_the_hub_not_managing_the_fleet_raise_no_alert() -> None:
    published = Published()
    before = monitors_for_rules(published)  # before activation, hub-a (the old hub) manages the fleet
    after = monitors_for_rules(published, activation_started=0.0)  # after it, hub-b (the new hub) does
    try:
        before._observe("hub-b", MANAGED_CLUSTERS, event("ADDED", cluster("cluster-0001", "Unknown")))
        after._observe("hub-a", MANAGED_CLUSTERS, event("MODIFIED", cluster("cluster-0001", "Unknown")))
        await asyncio.sleep(3600)
        assert published.alerts() == []
    finally:
        before.close()
        after.close()


@pytest.mark.looptime
async def test_a_restore_stuck_past_its_threshold_raises_one_alert() -> None:
    published = Published()
    monitors = monitors_for_rules(published)  # default threshold: 900 s
    try:
        monitors._observe("hub-b", ACM_RESTORES, event("ADDED", restore("Started")))
        await asyncio.sleep(899)
        monitors._observe("hub-b", ACM_RESTORES, event("MODIFIED", restore("Running")))
        assert published.alerts() == []
        await asyncio.sleep(2)
        assert [a["resource"] for a in published.alerts("restore_stalled")] == ["restore-acm-passive-sync"]
        monitors._observe("hub-b", ACM_RESTORES, event("MODIFIED", restore("Enabled")))
        await asyncio.sleep(1800)
        assert len(published.alerts()) == 1
    finally:
        monitors.close()


# -- watch health, against real watches ------------------------------------------------------------

QUIET = ClientSettings(request_timeout=5.0, connect_timeout=2.0, backoff_base=0.05, backoff_max=0.5,
                       watch_inactivity=0.6)
"""A watch silent for 0.6 s is re-established; the pair's servers send bookmarks every 0.1 s."""


@pytest.fixture
async def chatty_pair() -> AsyncIterator[SimulatedHubPair]:
    async with SimulatedHubPair(instant_pair(bookmark_interval=0.1)) as sim:
        yield sim


async def run_monitors(pair: SimulatedHubPair, tmp_path: Path, published: Published, rule: str, *,
                       count: int = 1, then: Callable[[Monitors], Awaitable[None]] | None = None) -> Monitors:
    """Start the monitors of both hubs, wait for ``count`` ``rule`` alerts (and ``then``), stop them;
    returns them."""
    kubeconfig = pair.write_kubeconfig(tmp_path / "kubeconfig")
    async with Hub.connect(kubeconfig, "hub-a", settings=QUIET) as hub_a, \
            Hub.connect(kubeconfig, "hub-b", settings=QUIET) as hub_b:
        monitors = Monitors({"hub-a": hub_a, "hub-b": hub_b}, publish=published, thresholds=AlertThresholds(),
                            new_hub="hub-b", activation_started=lambda: None)
        async with asyncio.TaskGroup() as tg:
            try:
                await monitors.run(task_group=tg)
                for _ in range(count):
                    await published.alert(rule)
                if then is not None:
                    await then(monitors)
            finally:
                monitors.close()
    return monitors


async def test_a_watch_that_had_to_relist_raises_one_watch_gap_alert(chatty_pair: SimulatedHubPair,
                                                                     tmp_path: Path) -> None:
    chatty_pair.hub_b.faults.expire_next_watches(MC_WATCH)
    published = Published()

    monitors = await run_monitors(chatty_pair, tmp_path, published, "watch_gap")

    gaps = monitors.health[MC_MONITOR].gaps
    assert [g.reason for g in gaps] == ["expired"]
    assert monitors.health[MC_MONITOR].relists == 1
    assert [(a["hub"], a["resource"]) for a in published.alerts("watch_gap")] == [("hub-b", MC_MONITOR)]
    assert "expired" in published.alerts("watch_gap")[0]["message"]


async def test_each_gap_after_the_watch_delivered_again_is_an_episode_of_its_own(chatty_pair: SimulatedHubPair,
                                                                                   tmp_path: Path) -> None:
    chatty_pair.hub_b.faults.expire_next_watches(MC_WATCH, count=2)
    published = Published()

    monitors = await run_monitors(chatty_pair, tmp_path, published, "watch_gap", count=2)

    assert [g.reason for g in monitors.health[MC_MONITOR].gaps] == ["expired", "expired"]
    alerts = published.alerts("watch_gap")
    assert [(a["hub"], a["resource"]) for a in alerts] == [("hub-b", MC_MONITOR)] * 2


async def test_a_silent_watch_is_noticed_and_its_gap_raises_a_watch_gap_alert(chatty_pair: SimulatedHubPair,
                                                                              tmp_path: Path) -> None:
    chatty_pair.hub_b.faults.stall_watches(MC_WATCH)
    published = Published()

    async def two_more_gaps(monitors: Monitors) -> None:
        # Each reconnect stalls again: one blind episode, however many gaps it is made of.
        async with asyncio.timeout(10):
            while len(monitors.health[MC_MONITOR].gaps) < 3:  # noqa: ASYNC110 (health has no event)
                await asyncio.sleep(0.05)

    try:
        monitors = await run_monitors(chatty_pair, tmp_path, published, "watch_gap", then=two_more_gaps)
    finally:
        chatty_pair.hub_b.faults.unstall_watches(MC_WATCH)

    gaps = monitors.health[MC_MONITOR].gaps
    assert len(gaps) >= 3
    assert {g.reason for g in gaps} == {"inactive"}
    assert gaps[0].duration >= QUIET.watch_inactivity
    assert [(a["hub"], a["resource"]) for a in published.alerts("watch_gap")] == [("hub-b", MC_MONITOR)]
    assert "inactive" in published.alerts("watch_gap")[0]["message"]
    assert all(not h.gaps for name, h in monitors.health.items() if name != MC_MONITOR)
