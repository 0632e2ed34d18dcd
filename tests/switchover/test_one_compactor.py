"""Thanos compaction after a switchover: the old and the new hub share one object storage, and two
compactors on one bucket corrupt it (domain facts §5.19). The old hub's observability operator puts a
scaled-down compactor back within minutes, so after the switchover exactly one compactor runs, across
both hubs, and keeps running alone; a failback brings the old hub's observability back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from asyncswitch.kube import MULTICLUSTER_OBSERVABILITIES, PODS, Hub, WaitTimeout
from asyncswitch.sim.acm import SimulatedHubPair

from .support import options, read_state, switch, wait_until

OBS_NS = "open-cluster-management-observability"
COMPACTOR_PODS = "app.kubernetes.io/name=thanos-compact"

# The observability operator reverts a scale change after 180 simulated s: 0.45 s real here.
pytestmark = pytest.mark.pair(clusters=4, profile="fast", speed=400, min_policy_delay=0.2)


def running(pods: dict[str, dict[str, Any]]) -> list[str]:
    return sorted(name for name, pod in pods.items() if (pod.get("status") or {}).get("phase") == "Running"
                  and not pod["metadata"].get("deletionTimestamp"))


async def compactors(hubs: dict[str, Hub]) -> dict[str, list[str]]:
    return {name: running({p["metadata"]["name"]: p for p in (
        await hub.list(PODS, OBS_NS, label_selector=COMPACTOR_PODS)).items}) for name, hub in hubs.items()}


async def assert_old_hub_never_compacts_again(hubs: dict[str, Hub], old: str) -> None:
    """Watch the old hub well past the observability operator's revert: its compactor stays gone."""
    with pytest.raises(WaitTimeout):
        await wait_until(hubs[old], PODS, lambda pods: bool(running(dict(pods))), namespace=OBS_NS,
                         description=f"a compactor running again on {old}", timeout=2.0)


@pytest.mark.parametrize("action", ["secondary", "none"])
async def test_after_a_switchover_only_the_new_hub_compacts_and_the_old_hub_does_not_start_again(
    pair: SimulatedHubPair, hubs: dict[str, Hub], tmp_path: Path, action: str,
) -> None:
    state_path = tmp_path / "state.json"

    report = await switch(hubs, "hub-a", "hub-b", state_path, options(action=action))

    assert report.success, report.error
    await assert_old_hub_never_compacts_again(hubs, "hub-a")
    found = await compactors(hubs)
    assert found["hub-a"] == []
    assert len(found["hub-b"]) == 1
    # What was turned off on the old hub is in the state file, for the way back.
    removed = read_state(state_path)["facts"]["old_hub_observability"]
    assert [mco["metadata"]["name"] for mco in removed] == ["observability"]


async def test_a_failback_brings_observability_back_to_the_hub_it_left_and_still_one_compactor_runs(
    pair: SimulatedHubPair, hubs: dict[str, Hub], tmp_path: Path,
) -> None:
    for old, new in (("hub-a", "hub-b"), ("hub-b", "hub-a")):
        report = await switch(hubs, old, new, tmp_path / f"{old}-to-{new}.json", options())
        assert report.success, report.error

    await assert_old_hub_never_compacts_again(hubs, "hub-b")
    assert [m["metadata"]["name"] for m in (await hubs["hub-a"].list(MULTICLUSTER_OBSERVABILITIES)).items] == \
        ["observability"]
    assert (await hubs["hub-b"].list(MULTICLUSTER_OBSERVABILITIES)).items == []
    found = await compactors(hubs)
    assert (len(found["hub-a"]), found["hub-b"]) == (1, [])
