"""acm-operator-facts §0: the version markers of the Restore controller and post-restore activation,
each on both sides of the release that changed it."""

from __future__ import annotations

from typing import Any

import pytest

from .resources import (
    BACKUPS,
    IMMEDIATE_IMPORT,
    MANAGED_CLUSTERS,
    PASSIVE_RESTORE,
    RESTORES,
    Hub,
    connected,
    create,
    delete,
    fleet,
    restore_body,
    snap,
    until,
)
from .restore_support import BRISK, HIVE, MSA, activate, assert_webhook_refuses_creating, passive_resync, phase_of
from .watching import PhaseLog, annotations_of, phase

FINALIZER = "restores.cluster.open-cluster-management.io/finalizer"


@pytest.fixture
def knobs(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The ``version`` parameter is the ACM version of both hubs."""
    marker = request.node.get_closest_marker("sim")
    knobs = dict(marker.kwargs) if marker else {}
    knobs["acm_version"] = request.node.callspec.params["version"]
    return knobs


@pytest.mark.parametrize("version", ["2.13", "2.14"])
async def test_restores_carry_the_finalizer_from_2_14(hub_b: Hub, version: str) -> None:
    (restore,) = await until(hub_b, RESTORES, phase_of(PASSIVE_RESTORE, ("Enabled",)))
    assert (FINALIZER in (restore["metadata"].get("finalizers") or [])) == (version == "2.14")


@pytest.mark.parametrize("version", ["2.13", "2.14"])
async def test_the_operator_sets_immediate_import_from_2_14(hub_b: Hub, version: str) -> None:
    before = await snap(hub_b, MANAGED_CLUSTERS)
    log = PhaseLog(lambda obj: annotations_of(obj).get(IMMEDIATE_IMPORT))
    assert phase(await activate(hub_b)) == "Finished"
    await until(hub_b, MANAGED_CLUSTERS, lambda objs: log.record(objs) and len(fleet(objs)) == 6 and all(
        connected(o) for o in fleet(objs) if o["metadata"]["name"] in MSA), after=before)
    got = {c for c in MSA if "" in log.seen[c]}
    assert got == (set(MSA) if version == "2.14" else set())


@pytest.mark.parametrize("version", ["2.14", "2.15"])
async def test_post_restore_walks_managed_clusters_from_2_15(hub_b: Hub, version: str) -> None:
    restore = await activate(hub_b)
    hive_messages = [m for m in restore["status"]["messages"] if any(f"({c})" in m for c in HIVE)]
    if version == "2.15":
        assert hive_messages == [f"No suitable MSA secret found for cluster ({c})" for c in HIVE]
    else:
        assert hive_messages == []  # ≤ 2.14 walks the namespaces holding an MSA secret


@pytest.mark.parametrize("version", ["2.15", "2.16"])
async def test_the_restore_webhook_exists_from_2_16(hub_b: Hub, version: str) -> None:
    body = restore_body("restore-sync-latest", sync=True)  # sync with managed clusters latest
    if version == "2.16":
        await assert_webhook_refuses_creating(hub_b, body)
    else:
        await create(hub_b, RESTORES, body)
        (restore,) = [o for o in await until(hub_b, RESTORES, phase_of("restore-sync-latest", ("FinishedWithErrors",)))
                      if o["metadata"]["name"] == "restore-sync-latest"]
        assert PASSIVE_RESTORE in restore["status"]["lastMessage"]  # accepted, then refused by the operator


@pytest.mark.sim(profile=BRISK)
@pytest.mark.parametrize("version", ["2.16", "2.17"])
async def test_resyncs_show_unknown_up_to_2_16_only(hub_b: Hub, version: str) -> None:
    phases, _ = await passive_resync(hub_b)
    assert ("Unknown" in phases) == (version == "2.16")
    assert phases[:2] == ["Enabled", "Started"]
    assert "Running" in phases


@pytest.mark.parametrize("version", ["2.16", "2.17"])
async def test_only_the_newest_activation_marker_is_kept_from_2_17(hub_b: Hub, version: str) -> None:
    markers = "acm-restore-clusters-"
    assert phase(await activate(hub_b)) == "Finished"
    await until(hub_b, RESTORES, lambda objs: True)
    await delete(hub_b, RESTORES, PASSIVE_RESTORE)
    await until(hub_b, RESTORES, lambda objs: not objs)
    await create(hub_b, RESTORES, restore_body("restore-again", credentials="skip", resources="skip"))
    await until(hub_b, RESTORES, phase_of("restore-again", ("Finished",)))
    backups = await until(hub_b, BACKUPS, lambda objs: any(
        (o["metadata"].get("labels") or {}).get("cluster.open-cluster-management.io/acm-restore-name")
        == "restore-again" for o in objs))
    found = [o for o in backups if o["metadata"]["name"].startswith(markers)]
    assert len(found) == (1 if version == "2.17" else 2)
