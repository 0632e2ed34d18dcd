"""Timing profiles and seeds: a seed fixes what the hubs create and the order clusters reconnect in;
the profiles order the real time a simulated duration takes."""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import pytest

from asyncswitch.sim.acm import PROFILES, SimulatedHubPair, profile_named
from asyncswitch.sim.acm.profiles import SimClock

from .conftest import connect, sim_config
from .resources import (
    BACKUP_NS,
    MANAGED_CLUSTERS,
    NAMESPACES,
    PASSIVE_RESTORE,
    RESTORES,
    Hub,
    connected,
    fleet,
    merge_patch,
    pods,
    snap,
    until,
)
from .watching import Obj, name_of

IDENTITIES = (MANAGED_CLUSTERS, NAMESPACES, RESTORES, pods(BACKUP_NS), pods("open-cluster-management"))


async def identities(tmp_path: Path, seed: int) -> dict[str, list[tuple[str, str]]]:
    """(name, uid) of the objects both hubs create at start, per hub and resource."""
    out: dict[str, list[tuple[str, str]]] = {}
    async with SimulatedHubPair(sim_config(seed=seed)) as pair:
        path = pair.write_kubeconfig(tmp_path / f"kubeconfig-{seed}")
        for context in ("hub-a", "hub-b"):
            async with await connect(path, context) as api:
                hub = Hub.of(context, api)
                for res in IDENTITIES:
                    items = (await snap(hub, res)).items
                    out[f"{context}/{res.plural}/{res.namespace}"] = [
                        (name_of(o), o["metadata"]["uid"]) for o in items]
    return out


async def test_the_same_seed_gives_the_same_names_and_uids_and_another_seed_does_not(tmp_path: Path) -> None:
    first = await identities(tmp_path, seed=7)
    again = await identities(tmp_path, seed=7)
    other = await identities(tmp_path, seed=8)
    assert first == again
    assert sum(map(len, first.values())) > 30
    for key, items in first.items():
        assert {uid for _, uid in items}.isdisjoint({uid for _, uid in other[key]}), key


async def reconnect_order(tmp_path: Path, seed: int) -> list[str]:
    """The order in which hub-b saw the clusters join after the passive restore was activated."""
    joined: dict[str, int] = {}

    def record(objs: list[Obj]) -> bool:
        for obj in fleet(objs):
            if connected(obj):
                joined.setdefault(name_of(obj), int(obj["metadata"]["resourceVersion"]))
        return len(joined) == 12

    async with SimulatedHubPair(sim_config(profile="fast", clusters=12, seed=seed)) as pair:
        path = pair.write_kubeconfig(tmp_path / f"kubeconfig-order-{seed}")
        async with await connect(path, "hub-b") as api:
            hub_b = Hub.of("hub-b", api)
            before = await snap(hub_b, MANAGED_CLUSTERS)
            await merge_patch(hub_b, RESTORES, PASSIVE_RESTORE, {"spec": {"veleroManagedClustersBackupName": "latest"}})
            await until(hub_b, MANAGED_CLUSTERS, record, after=before)
    return sorted(joined, key=joined.__getitem__)


async def test_the_same_seed_reconnects_the_clusters_in_the_same_order(tmp_path: Path) -> None:
    first = await reconnect_order(tmp_path, seed=3)
    again = await reconnect_order(tmp_path, seed=3)
    assert first == again
    assert first != sorted(first), "the reconnect order is drawn, not alphabetical"


DURATIONS = ("step_overhead", "reconnect_max", "lease_grace", "mch_pending", "restore_deletion", "pod_start",
             "mco_revert_after")


@pytest.mark.parametrize("knob", DURATIONS)
def test_a_simulated_duration_takes_no_real_time_on_instant_and_less_on_fast_than_realistic(knob: str) -> None:
    clocks = {name: SimClock(profile, random.Random(0)) for name, profile in PROFILES.items()}
    seconds = {name: clock.real(getattr(clock.profile, knob)) for name, clock in clocks.items()}
    assert seconds["instant"] == 0.0 < seconds["fast"] < seconds["realistic"] == getattr(PROFILES["realistic"], knob)


def test_a_whole_switchover_is_ordered_instant_then_fast_then_slowed_fast_then_realistic() -> None:
    def switchover(profile: Any) -> float:
        clock = SimClock(profile, random.Random(0))
        p = clock.profile
        simulated = clock.restore_seconds(324) + p.reconnect_max + p.lease_grace + p.restore_deletion
        return clock.real(simulated)

    durations = [switchover(p) for p in (profile_named("instant"), profile_named("fast"),
                                         profile_named("fast", speed=20), profile_named("realistic"))]
    assert durations == sorted(durations)
    assert durations[0] == 0.0
    assert math.isclose(durations[2], 10 * durations[1])
    assert 1.0 < durations[1] < 5.0  # the fast profile: a few seconds for a 20-cluster switchover


def test_unknown_profiles_and_non_positive_speeds_are_refused() -> None:
    with pytest.raises(ValueError, match="instant, fast, realistic"):
        profile_named("nope")
    with pytest.raises(ValueError, match="positive"):
        profile_named("fast", speed=0)
