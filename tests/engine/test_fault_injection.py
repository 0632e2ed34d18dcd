"""Fault injection: every scenario disturbs the hubs, is rolled back (or needs no roll-back), and
leaves the hubs as a run without it would: the cycle still succeeds and nothing stays broken."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from asyncswitch.kube import BACKUP_SCHEDULES, DEPLOYMENTS, PODS, Hub, ResourceCache
from asyncswitch.sim import FaultRule
from asyncswitch.sim.acm import SimulatedHubPair

from .support import DEADLINE, Run, run_config, run_engine

ACM_NS = "open-cluster-management"
BACKUP_NS = "open-cluster-management-backup"
MCO_OPERATOR = "name=multicluster-observability-operator"
HOLD = 0.5
"""Seconds a fault is held: longer than the phases it is meant to disturb on the instant profile."""


def fault_records(run: Run) -> list[tuple[str, str | None, dict[str, Any]]]:
    return [(e.type, e.cycle_id, e.data) for e in run.of("fault_injected", "fault_rolled_back")]


async def unpaused_schedules(kubeconfig: Path) -> list[str]:
    found = []
    for context in ("hub-a", "hub-b"):
        async with Hub.connect(kubeconfig, context) as hub:
            found += [context for s in (await hub.list(BACKUP_SCHEDULES, BACKUP_NS)).items
                      if not (s.get("spec") or {}).get("paused")]
    return found


@pytest.mark.parametrize(("scenario", "at_phase", "target"), [
    ("pause-backup", "preflight", "backupschedule/acm-hub-backup"),
    ("delay-restore", "primary_preparation", "deployment/velero"),
    ("kill-observability-pod", "activation", "1 pod(s)"),
])
async def test_each_fault_is_injected_and_rolled_back_and_the_cycle_still_succeeds(
        pair: SimulatedHubPair, tmp_path: Path, scenario: str, at_phase: str, target: str) -> None:
    run = await run_engine(run_config(tmp_path, cycles=1, inject_failure=scenario, inject_at_phase=at_phase,
                                      fault_hold=HOLD), pair)

    (injected_type, injected_cycle, injected), (rolled_type, rolled_cycle, rolled) = fault_records(run)
    assert (injected_type, rolled_type) == ("fault_injected", "fault_rolled_back")
    assert injected_cycle == rolled_cycle == "cycle-0001"
    assert (injected["scenario"], injected["success"], injected["target"]) == (scenario, True, target)
    assert (rolled["scenario"], rolled["success"], rolled["target"]) == (scenario, True, target)
    assert run.cycle_ends() == [("cycle-0001", True)]
    # Nothing stays behind: only the new primary backs up, velero and the operator run again.
    kubeconfig = pair.write_kubeconfig(tmp_path / "check.kubeconfig")  # the run's own went with the run
    assert await unpaused_schedules(kubeconfig) == ["hub-b"]
    async with Hub.connect(kubeconfig, "hub-b") as hub_b:
        velero = await hub_b.get(DEPLOYMENTS, "velero", BACKUP_NS)
        assert velero is not None
        assert velero["spec"]["replicas"] == 1
        async with ResourceCache(hub_b, PODS, namespace=ACM_NS, label_selector=MCO_OPERATOR) as operator:
            await operator.wait_for(
                lambda pods: any((p.get("status") or {}).get("phase") == "Running" for p in pods.values()),
                timeout=DEADLINE, description="the observability operator pod Running on hub-b")


async def test_a_restore_delayed_by_stopping_velero_waits_for_it_to_come_back(pair: SimulatedHubPair,
                                                                             tmp_path: Path) -> None:
    run = await run_engine(run_config(tmp_path, cycles=1, inject_failure="delay-restore",
                                      inject_at_phase="primary_preparation", fault_hold=HOLD), pair)

    order = [(e.type, e.data.get("phase")) for e in run.of("fault_injected", "fault_rolled_back", "phase_result")]
    assert order.index(("fault_injected", None)) < order.index(("phase_result", "primary_preparation"))
    assert order.index(("fault_rolled_back", None)) < order.index(("phase_result", "activation"))
    activation = next(e.data for e in run.of("phase_result") if e.data["phase"] == "activation")
    assert activation["outcome"] == "succeeded"
    assert run.cycle_ends() == [("cycle-0001", True)]


async def test_a_paused_schedule_is_unpaused_again_when_the_switchover_stops_before_primary_preparation(
        pair: SimulatedHubPair, tmp_path: Path) -> None:
    pair.hub_b.faults.add(FaultRule(verb="list", resource="namespaces", error_rate=1.0, status=403))

    run = await run_engine(run_config(tmp_path, cycles=1, inject_failure="pause-backup", inject_at_phase="preflight",
                                      fault_hold=HOLD), pair)

    assert run.cycle_ends() == [("cycle-0001", False)]
    rolled = [data for kind, _, data in fault_records(run) if kind == "fault_rolled_back"]
    assert [(r["hub"], r["message"]) for r in rolled] == [("hub-a", "rolled back")]
    assert await unpaused_schedules(pair.write_kubeconfig(tmp_path / "check.kubeconfig")) == ["hub-a"]


async def test_a_fault_is_rolled_back_when_the_switchover_ends_before_its_hold(pair: SimulatedHubPair,
                                                                              tmp_path: Path) -> None:
    # Paused at preflight, the old hub's schedule does not hold the switchover up: it ends long before the hour.
    run = await run_engine(run_config(tmp_path, cycles=1, inject_failure="pause-backup", inject_at_phase="preflight",
                                      fault_hold=3600.0), pair, timeout=30.0)

    assert [kind for kind, _, _ in fault_records(run)] == ["fault_injected", "fault_rolled_back"]
    assert run.cycle_ends() == [("cycle-0001", True)]
    assert run.of("cycle_end")[0].data["duration_s"] < 30.0
    assert await unpaused_schedules(pair.write_kubeconfig(tmp_path / "check.kubeconfig")) == ["hub-b"]
