"""Whole switchovers on the simulated pair, for every method and old-hub action, there and (where the
action leaves a way back) back again; the end state is read from both hubs through the API."""

from __future__ import annotations

from pathlib import Path

import pytest

from asyncswitch.kube import Hub
from asyncswitch.sim.acm import SimulatedHubPair

from .support import assert_switched_over, backup_names, options, read_state, switch

pytestmark = pytest.mark.pair(clusters=20, profile="fast")

QUICK_UNINSTALL = pytest.mark.pair(clusters=20, profile="fast", mch_deletion=120)
"""The MultiClusterHub's uninstall takes 600 simulated s on the fast profile (3 s); 120 (0.6 s) spares CI time."""

# (method, old-hub action, activation method, back again): the way back needs a passive restore on
# hub-a for the passive method (only action secondary makes one); a decommissioned hub has no way back.
CASES = [
    pytest.param("passive", "secondary", "patch", True, id="passive-secondary-patch-there-and-back"),
    pytest.param("passive", "secondary", "restore", True, id="passive-secondary-restore-there-and-back"),
    pytest.param("passive", "none", "patch", False, id="passive-none-patch"),
    pytest.param("passive", "decommission", "patch", False, id="passive-decommission-patch", marks=QUICK_UNINSTALL),
    pytest.param("full", "secondary", "patch", True, id="full-secondary-there-and-back"),
    pytest.param("full", "none", "patch", True, id="full-none-there-and-back"),
    pytest.param("full", "decommission", "patch", False, id="full-decommission", marks=QUICK_UNINSTALL),
]


@pytest.mark.parametrize(("method", "action", "activation", "back"), CASES)
async def test_a_switchover_moves_the_fleet_to_the_new_hub_and_gives_the_old_hub_its_new_role(
    pair: SimulatedHubPair, hubs: dict[str, Hub], tmp_path: Path, method: str, action: str, activation: str,
    back: bool,
) -> None:
    legs = [("hub-a", "hub-b"), ("hub-b", "hub-a")] if back else [("hub-a", "hub-b")]
    for old, new in legs:
        before = await backup_names(hubs[new])
        state_path = tmp_path / f"{old}-to-{new}.json"
        report = await switch(hubs, old, new, state_path, options(method, action, activation))

        assert report.success, report.error
        assert [r.phase for r in report.results] == [
            "preflight", "primary_preparation", "activation", "post_activation_verification", "finalization"]
        assert read_state(state_path)["phase"] == "completed"
        await assert_switched_over(pair, hubs, old=old, new=new, action=action, backups_before=before)
