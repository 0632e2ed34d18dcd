"""--manage-auto-import-strategy (ACM 2.14+, whose default ImportOnly does not import a cluster the hub
knew before): the new hub runs ImportAndSync during the switchover and is reset afterwards, and only
what this run set is reset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from asyncswitch.kube import CONFIG_MAPS, Hub
from asyncswitch.sim.acm import SimulatedHubPair
from asyncswitch.sim.acm import kinds as sim_kinds
from asyncswitch.sim.resources import ResourceType

from .support import MCE_NS, assert_switched_over, backup_names, options, read_state, switch

pytestmark = pytest.mark.pair(clusters=4, profile="fast", speed=400, acm_version="2.14.2")
IMPORT_CONFIG = "import-controller-config"


async def test_the_new_hub_imports_with_import_and_sync_during_the_switchover_and_is_reset_after(
    pair: SimulatedHubPair, hubs: dict[str, Hub], tmp_path: Path,
) -> None:
    store = pair.hubs["hub-b"].store
    seen_at_activation: list[str | None] = []

    def admission(verb: str, rtype: ResourceType, obj: dict[str, Any]) -> None:
        # The managed-clusters Velero restore: the activation itself.
        if verb == "create" and rtype.key == sim_kinds.VELERO_RESTORES.key and "managed-clusters" in str(
                obj["metadata"].get("name")):
            cm = store.find(store.type_of("configmaps"), MCE_NS, IMPORT_CONFIG)
            seen_at_activation.append((cm.obj.get("data") or {}).get("autoImportStrategy") if cm else None)

    remove = store.add_admission(admission)
    state_path = tmp_path / "state.json"
    before = await backup_names(hubs["hub-b"])
    try:
        report = await switch(hubs, "hub-a", "hub-b", state_path, options(manage_auto_import_strategy=True))
    finally:
        remove()

    assert report.success, report.error
    assert seen_at_activation[:1] == ["ImportAndSync"]
    assert await hubs["hub-b"].get(CONFIG_MAPS, IMPORT_CONFIG, MCE_NS) is None  # reset: as it was
    assert read_state(state_path)["facts"]["auto_import_strategy"] == {"set": True, "previous": None}
    await assert_switched_over(pair, hubs, old="hub-a", new="hub-b", action="secondary", backups_before=before)


async def test_a_strategy_the_user_set_is_left_as_it_is(
    pair: SimulatedHubPair, hubs: dict[str, Hub], tmp_path: Path,
) -> None:
    await hubs["hub-b"].create(CONFIG_MAPS, {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": IMPORT_CONFIG, "namespace": MCE_NS},
        "data": {"autoImportStrategy": "ImportAndSync"}}, MCE_NS)
    state_path = tmp_path / "state.json"

    report = await switch(hubs, "hub-a", "hub-b", state_path, options(manage_auto_import_strategy=True))

    assert report.success, report.error
    kept = await hubs["hub-b"].get(CONFIG_MAPS, IMPORT_CONFIG, MCE_NS)
    assert kept is not None
    assert kept["data"] == {"autoImportStrategy": "ImportAndSync"}
    assert read_state(state_path)["facts"]["auto_import_strategy"]["set"] is False
