"""Post-activation with clusters that never join the new hub: after a first window (the runbook's 120 s)
they are reported by name, the wait goes on to its deadline, and the error gives each cluster's state;
--min-cluster-share says what share of the fleet is enough."""

from __future__ import annotations

from pathlib import Path

import pytest

from asyncswitch.kube import Hub
from asyncswitch.sim.acm import SimulatedHubPair
from asyncswitch.switchover import Timeouts

from .support import options, switch

pytestmark = pytest.mark.pair(clusters=4, profile="fast", speed=400)

LOST = "cluster-0003"
# The pipeline's own deadlines, short here (the fast profile reconnects a cluster within milliseconds).
SHORT = Timeouts(clusters_first_window=0.5, clusters_connected=3.0, compactor_watch=0.5)


def lose_a_cluster(pair: SimulatedHubPair) -> None:
    """``LOST`` is gone for good (its klusterlet will never register with any hub)."""
    assert pair.world is not None
    pair.world.fleet.clusters[LOST].destroyed = True


async def test_a_cluster_that_never_joins_is_named_after_the_first_window_and_its_state_given_at_the_deadline(
    pair: SimulatedHubPair, hubs: dict[str, Hub], tmp_path: Path,
) -> None:
    lose_a_cluster(pair)

    report = await switch(hubs, "hub-a", "hub-b", tmp_path / "state.json", options(timeouts=SHORT))

    assert report.success is False
    post = report.results[-1]
    assert (post.phase, post.outcome) == ("post_activation_verification", "failed")
    assert any(LOST in w and "not Available and Joined" in w for w in post.warnings), post.warnings
    assert report.error is not None
    assert "3/4 managed clusters Available and Joined" in report.error
    assert f"{LOST} (Available: " in report.error


async def test_a_share_of_the_fleet_is_enough_when_min_cluster_share_says_so(
    pair: SimulatedHubPair, hubs: dict[str, Hub], tmp_path: Path,
) -> None:
    lose_a_cluster(pair)

    report = await switch(hubs, "hub-a", "hub-b", tmp_path / "state.json",
                          options(timeouts=SHORT, min_cluster_share=0.75))

    assert report.success, report.error
    post = next(r for r in report.results if r.phase == "post_activation_verification")
    assert any(LOST in w for w in post.warnings), post.warnings
