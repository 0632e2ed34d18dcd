"""The wait of post-activation verification: when "every managed cluster Available and Joined" holds.

The check is fed the hub's whole set of ManagedClusters again after every change, as the pipeline's
watch does, and keeps its place between calls (so a reconnect wave costs one pass, not one per cluster):
these tests make sure keeping its place never lets the switchover go on too early."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import Any

from asyncswitch.switchover.post_activation import every_cluster_connected

from .support import AVAILABLE, JOINED, LOCAL_CLUSTER

FLEET = [f"cluster-{i:04d}" for i in range(1, 9)]


def cluster(name: str, available: str = "True", joined: str = "True") -> dict[str, Any]:
    return {"metadata": {"name": name}, "status": {"conditions": [
        {"type": JOINED, "status": joined}, {"type": AVAILABLE, "status": available}]}}


def hub(available: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    objects = {LOCAL_CLUSTER: cluster(LOCAL_CLUSTER)}
    objects.update({name: cluster(name, state) for name, state in available.items()})
    return objects


def feed(check: Callable[[Mapping[str, Any]], bool], states: list[dict[str, str]]) -> list[bool]:
    return [check(hub(state)) for state in states]


def test_the_wait_ends_once_every_cluster_is_connected_in_whatever_order_they_reconnect() -> None:
    for seed in range(5):
        order = random.Random(seed).sample(FLEET, len(FLEET))
        state = dict.fromkeys(FLEET, "Unknown")
        states = []
        for name in order:
            state[name] = "True"
            states.append(dict(state))
        assert feed(every_cluster_connected(FLEET), states) == [False] * (len(FLEET) - 1) + [True]


def test_the_wait_does_not_end_while_a_cluster_seen_connected_before_has_dropped_again() -> None:
    check = every_cluster_connected(FLEET)
    almost = dict.fromkeys(FLEET, "True") | {FLEET[-1]: "Unknown"}
    assert check(hub(almost)) is False  # the first seven are behind it now

    dropped = dict.fromkeys(FLEET, "True") | {FLEET[0]: "False"}
    assert feed(check, [dropped, dropped]) == [False, False]
    assert check(hub(dict.fromkeys(FLEET, "True"))) is True


def test_the_wait_does_not_end_while_an_expected_cluster_is_missing_from_the_hub() -> None:
    check = every_cluster_connected(FLEET)
    assert check(hub(dict.fromkeys(FLEET, "True"))) is True
    check = every_cluster_connected(FLEET)
    without_third = {name: "True" for name in FLEET if name != FLEET[2]}
    assert feed(check, [without_third, without_third]) == [False, False]
    assert check(hub(dict.fromkeys(FLEET, "True"))) is True


def test_a_cluster_the_hub_lists_beyond_the_expected_ones_must_be_connected_too() -> None:
    check = every_cluster_connected(FLEET[:4])
    extra = dict.fromkeys(FLEET[:4], "True") | {"cluster-late": "Unknown"}
    assert feed(check, [extra, extra]) == [False, False]
    assert check(hub(extra | {"cluster-late": "True"})) is True


def test_a_cluster_available_but_not_joined_is_not_connected() -> None:
    check = every_cluster_connected(FLEET[:1])
    objects = {LOCAL_CLUSTER: cluster(LOCAL_CLUSTER), FLEET[0]: cluster(FLEET[0], joined="False")}
    assert check(objects) is False


def test_a_hub_with_only_local_cluster_has_every_cluster_connected() -> None:
    # --min-managed-clusters 0 accepts a fleet of none: nothing is left to wait for.
    assert every_cluster_connected([])(hub({})) is True
    assert every_cluster_connected([])(hub({"cluster-0001": "True"})) is True
    assert every_cluster_connected([])(hub({"cluster-0001": "Unknown"})) is False
