"""Cycles under the other switchover options: --dry-run, --method full, --old-hub-action none and
decommission, each against the simulated pair over HTTP, checked on the hubs afterwards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from asyncswitch.kube import ACM_RESTORES, MANAGED_CLUSTERS, MULTICLUSTER_HUBS, MULTICLUSTER_OBSERVABILITIES, Hub
from asyncswitch.sim import ApiServer
from asyncswitch.sim.acm import SimulatedHubPair
from asyncswitch.switchover.names import ACM_NAMESPACE, BACKUP_NAMESPACE, DISABLE_AUTO_IMPORT, LOCAL_CLUSTER
from asyncswitch.switchover.options import Method, OldHubAction

from .support import Run, read_json, run_config, run_engine

MUTATING = frozenset({"create", "update", "patch", "delete", "deletecollection"})


def changes_made(server: ApiServer) -> list[str]:
    """The engine's applied changes on one hub (the simulated controllers write in-process, not over HTTP)."""
    return [f"{r.verb} {r.resource}/{r.name}" for r in server.requests.records()
            if r.verb in MUTATING and r.status < 400 and not (r.resource or "").startswith("selfsubjectaccessreviews")]


def managed_cluster_names(clusters: list[dict[str, Any]]) -> list[str]:
    return sorted(c["metadata"]["name"] for c in clusters if c["metadata"]["name"] != LOCAL_CLUSTER)


def cycle_ids(run: Run, record_type: str) -> list[str | None]:
    return [e.cycle_id for e in run.of(record_type)]


async def test_dry_run_cycles_read_both_hubs_change_nothing_and_never_swap_them(pair: SimulatedHubPair,
                                                                                tmp_path: Path) -> None:
    run = await run_engine(run_config(tmp_path, cycles=2, dry_run=True), pair)

    assert run.cycle_starts() == [("cycle-0001", "hub-a", "hub-b"), ("cycle-0002", "hub-a", "hub-b")]
    assert run.cycle_ends() == [("cycle-0001", True), ("cycle-0002", True)]
    assert (changes_made(pair.hub_a), changes_made(pair.hub_b)) == ([], [])
    assert pair.hub_a.requests.records(verb="list")
    assert pair.hub_b.requests.records(verb="list")
    would = [e.data["name"] for e in run.of("dry_run")]
    assert any(name.startswith("patch ManagedCluster/") for name in would)  # what it would have done
    assert not run.of("reaction")
    for cycle_id in ("cycle-0001", "cycle-0002"):
        cycle_dir = run.result.run_dir / "cycles" / cycle_id
        assert read_json(cycle_dir / "result.json")["moved_fleet"] is False
        assert not (cycle_dir / "state.json").exists()  # a dry run writes no switchover state
    assert run.result.summary["end_state"]["primary"] == "hub-a"


async def test_full_method_cycles_swap_the_hubs_and_wait_for_a_settled_backup_set_between_them(
        pair: SimulatedHubPair, tmp_path: Path) -> None:
    run = await run_engine(run_config(tmp_path, cycles=3, method=Method.FULL), pair)

    assert run.cycle_starts() == [("cycle-0001", "hub-a", "hub-b"), ("cycle-0002", "hub-b", "hub-a"),
                                  ("cycle-0003", "hub-a", "hub-b")]
    assert run.cycle_ends() == [(f"cycle-000{i}", True) for i in range(1, 4)]
    # Between two cycles (not after the last), the new primary's backup set was waited for.
    settled = run.of("backup_set_stable")
    assert [(e.cycle_id, e.data["hub"]) for e in settled] == [("cycle-0001", "hub-b"), ("cycle-0002", "hub-a")]
    order = [(e.type, e.cycle_id) for e in run.of("cycle_end", "backup_set_stable", "cycle_start")]
    assert order.index(("backup_set_stable", "cycle-0001")) == order.index(("cycle_end", "cycle-0001")) + 1
    assert order.index(("cycle_start", "cycle-0002")) == order.index(("backup_set_stable", "cycle-0001")) + 1
    # The full method restores with a Restore of its own, never by patching the passive one.
    assert any(c.startswith("create restores.cluster.open-cluster-management.io/")
               for c in changes_made(pair.hub_b))
    assert not any(c.startswith("patch restores.") for c in changes_made(pair.hub_a) + changes_made(pair.hub_b))


async def test_old_hub_action_none_leaves_the_old_hub_with_acm_and_its_paused_clusters(
        pair: SimulatedHubPair, tmp_path: Path) -> None:
    run = await run_engine(run_config(tmp_path, cycles=1, old_hub_action=OldHubAction.NONE), pair)

    assert run.cycle_ends() == [("cycle-0001", True)]
    kubeconfig = pair.write_kubeconfig(tmp_path / "check.kubeconfig")
    async with Hub.connect(kubeconfig, "hub-a") as old, Hub.connect(kubeconfig, "hub-b") as new:
        old_clusters = (await old.list(MANAGED_CLUSTERS)).items
        assert managed_cluster_names(old_clusters) == managed_cluster_names((await new.list(MANAGED_CLUSTERS)).items)
        assert all(DISABLE_AUTO_IMPORT in (c["metadata"].get("annotations") or {})
                   for c in old_clusters if c["metadata"]["name"] != LOCAL_CLUSTER)
        assert (await old.list(MULTICLUSTER_HUBS, ACM_NAMESPACE)).items
        assert not (await old.list(ACM_RESTORES, BACKUP_NAMESPACE)).items  # not made a passive secondary


async def test_decommission_removes_acm_from_the_old_hub_and_keeps_the_fleet_on_the_new_one(
        pair: SimulatedHubPair, tmp_path: Path) -> None:
    run = await run_engine(run_config(tmp_path, cycles=1, old_hub_action=OldHubAction.DECOMMISSION), pair)

    assert run.cycle_ends() == [("cycle-0001", True)]
    assert run.result.summary["end_state"]["primary"] == "hub-b"
    kubeconfig = pair.write_kubeconfig(tmp_path / "check.kubeconfig")
    async with Hub.connect(kubeconfig, "hub-a") as old, Hub.connect(kubeconfig, "hub-b") as new:
        assert managed_cluster_names((await old.list(MANAGED_CLUSTERS)).items) == []
        assert not (await old.list(MULTICLUSTER_HUBS, ACM_NAMESPACE)).items
        assert not (await old.list(MULTICLUSTER_OBSERVABILITIES)).items
        assert len(managed_cluster_names((await new.list(MANAGED_CLUSTERS)).items)) == 5
