"""Fault injection on the simulated pair: one test per scenario, asserting the moment it acted at, the
cycle's verdict and the invariants after it, and that nothing is left held (docs/faults.md)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from asyncswitch.config import FAULT_SCENARIOS, STATE_MOMENTS
from asyncswitch.engine.faults import REGISTRY, FaultJournal
from asyncswitch.engine.faults.triggers import STATE_TRIGGERS
from asyncswitch.errors import ConfigError
from asyncswitch.kube import BACKUP_SCHEDULES, Hub
from asyncswitch.runner import Engine
from asyncswitch.sim import FaultRule
from asyncswitch.sim.acm import SimConfig, SimulatedHubPair, profile_named
from asyncswitch.switchover import ArgocdMode

from .support import Run, instant_pair, run_cli, run_config, run_engine

BACKUP_NS = "open-cluster-management-backup"
HOLD = 0.5
"""Seconds a fault is held: longer than the phases it is meant to disturb on the instant profile."""

# scenario → (the moment it fires at, the phase that is then running, the verdict, the pair's timing)
EXPECTED: dict[str, tuple[str, str, str, str]] = {
    "pause-backup": ("new-schedule-enabled", "finalization", "recovered", "instant"),
    "delay-restore": ("phase:activation", "activation", "recovered", "instant"),
    "kill-observability-pod": ("phase:post_activation_verification", "post_activation_verification", "recovered",
                               "instant"),
    # Velero marks the restore it was running Failed when it comes back: the activation stops.
    "velero-restart": ("mc-restore-running", "activation", "failed-safe", "slow"),
    "backup-operator-restart": ("phase:activation", "activation", "recovered", "instant"),
    # Restored clusters wait for their klusterlets for a while only when reconnects take time.
    "klusterlet-reconnect": ("mc-restore-done", "activation", "recovered", "fast"),
    "stale-auto-import": ("mc-restore-done", "activation", "recovered", "fast"),
    # The passive restore goes Error while the storage is unreachable; the activation stops on it.
    "bsl-unavailable": ("phase:primary_preparation", "primary_preparation", "failed-safe", "instant"),
    "api-errors": ("phase:activation", "activation", "recovered", "instant"),
    "watch-drops": ("phase:post_activation_verification", "post_activation_verification", "recovered", "instant"),
}
TIMINGS = {"instant": profile_named("instant"), "fast": profile_named("fast"), "slow": profile_named("fast", speed=20)}


def faults_of(run: Run, *types: str) -> list[dict[str, Any]]:
    return [e.data for e in run.of(*types)]


async def unpaused_schedules(kubeconfig: Path) -> list[str]:
    found = []
    for context in ("hub-a", "hub-b"):
        async with Hub.connect(kubeconfig, context) as hub:
            found += [context for s in (await hub.list(BACKUP_SCHEDULES, BACKUP_NS)).items
                      if not (s.get("spec") or {}).get("paused")]
    return found


def test_every_scenario_is_named_and_documented() -> None:
    assert set(REGISTRY) == set(FAULT_SCENARIOS) - {"random"} == {*EXPECTED, "argocd-resync"}
    assert len(REGISTRY) >= 8
    assert tuple(STATE_TRIGGERS) == STATE_MOMENTS
    documented = (Path(__file__).parents[2] / "docs" / "faults.md").read_text()
    for name, scenario in REGISTRY.items():
        assert f"`{name}`" in documented, name
        assert name == "argocd-resync" or EXPECTED[name][0] == scenario.moment.name, name


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
async def test_each_scenario_acts_at_its_moment_is_rolled_back_and_gets_a_verdict(tmp_path: Path,
                                                                                   scenario: str) -> None:
    moment, phase, verdict, timing = EXPECTED[scenario]
    clusters = 5 if timing == "instant" else 8
    sim = SimConfig(clusters=clusters, profile=TIMINGS[timing], seed=1)
    async with SimulatedHubPair(sim) as pair:
        run = await run_engine(run_config(tmp_path, cycles=1, inject_failure=scenario, fault_hold=HOLD), pair)

    (injected,) = faults_of(run, "fault_injected")
    assert (injected["scenario"], injected["success"], injected["moment"], injected["phase"]) == (
        scenario, True, moment, phase)
    (rolled,) = faults_of(run, "fault_rolled_back")
    assert (rolled["fault_id"], rolled["success"], rolled["back"]) == (injected["fault_id"], True, True), rolled
    (checked,) = faults_of(run, "invariant_check")
    assert checked["ok"], checked
    (judged,) = faults_of(run, "cycle_verdict")
    assert (judged["verdict"], judged["acted"]) == (verdict, [scenario])
    (end,) = faults_of(run, "cycle_end")
    assert (end["success"], end["verdict"]) == (verdict == "recovered", verdict)
    assert FaultJournal(run.result.run_dir / "fault_journal.jsonl").pending() == []
    assert run.result.damaged == 0
    summary = run.result.summary["faults"]
    assert summary["scenarios"][scenario][verdict] == 1
    assert summary["scenarios"][scenario]["ttr_ms"]["count"] == 1


async def test_a_fault_whose_target_is_absent_is_skipped_with_its_reason_and_fails_the_cycle_when_required(
        tmp_path: Path) -> None:
    # At preflight the new hub (hub-b) runs no observability yet: nothing to kill.
    async with SimulatedHubPair(instant_pair()) as pair:
        run = await run_engine(run_config(tmp_path, cycles=1, inject_failure="kill-observability-pod",
                                          inject_at_phase="preflight", require_injection=True), pair)

    assert faults_of(run, "fault_injected") == []
    (skipped,) = faults_of(run, "fault_skipped")
    assert skipped["scenario"] == "kill-observability-pod"
    assert "no running pod of observability-observatorium-api" in skipped["reason"]
    assert "the start of preflight" in skipped["reason"]
    (end,) = faults_of(run, "cycle_end")
    assert end["success"] is False
    assert "--require-injection: kill-observability-pod" in end["error"]
    assert run.result.summary["faults"]["scenarios"]["kill-observability-pod"]["skipped"] == 1


async def test_several_faults_in_one_cycle_each_with_its_own_duration(pair: SimulatedHubPair, tmp_path: Path) -> None:
    run = await run_engine(run_config(tmp_path, cycles=1, inject_failure="delay-restore=0.2,api-errors=1.5"), pair)

    injected = {r["scenario"]: r for r in faults_of(run, "fault_injected")}
    assert {name: r["duration_s"] for name, r in injected.items()} == {"delay-restore": 0.2, "api-errors": 1.5}
    rolled = {r["scenario"]: r for r in faults_of(run, "fault_rolled_back")}
    assert set(rolled) == {"delay-restore", "api-errors"}
    assert all(r["success"] and r["back"] for r in rolled.values())
    assert faults_of(run, "cycle_verdict")[0]["verdict"] == "recovered"


async def test_a_paused_schedule_is_unpaused_again_when_the_switchover_stops_before_primary_preparation(
        pair: SimulatedHubPair, tmp_path: Path) -> None:
    pair.hub_b.faults.add(FaultRule(verb="list", resource="namespaces", error_rate=1.0, status=403))

    run = await run_engine(run_config(tmp_path, cycles=1, inject_failure="pause-backup", inject_at_phase="preflight",
                                      fault_hold=HOLD), pair)

    assert run.cycle_ends() == [("cycle-0001", False)]
    (rolled,) = faults_of(run, "fault_rolled_back")
    assert (rolled["hub"], rolled["message"]) == ("hub-a", "rolled back")
    assert await unpaused_schedules(pair.write_kubeconfig(tmp_path / "check.kubeconfig")) == ["hub-a"]
    assert faults_of(run, "cycle_verdict")[0]["verdict"] == "failed-safe"


async def test_a_fault_is_rolled_back_when_the_switchover_ends_before_its_hold(pair: SimulatedHubPair,
                                                                              tmp_path: Path) -> None:
    # Paused at preflight, the old hub's schedule does not hold the switchover up: it ends long before the hour.
    run = await run_engine(run_config(tmp_path, cycles=1, inject_failure="pause-backup", inject_at_phase="preflight",
                                      fault_hold=3600.0), pair, timeout=30.0)

    assert [e.type for e in run.of("fault_injected", "fault_rolled_back")] == ["fault_injected", "fault_rolled_back"]
    assert run.cycle_ends() == [("cycle-0001", True)]
    assert run.of("cycle_end")[0].data["duration_s"] < 30.0
    assert await unpaused_schedules(pair.write_kubeconfig(tmp_path / "check.kubeconfig")) == ["hub-b"]


async def test_a_simulator_only_scenario_is_refused_on_real_hubs_in_one_line(tmp_path: Path) -> None:
    config = replace(run_config(tmp_path, inject_failure="api-errors"), kubeconfig=tmp_path / "kubeconfig",
                     primary_context="a", secondary_context="b")

    with pytest.raises(ConfigError, match=r"^--inject-failure api-errors runs on the simulated hubs only: "):
        Engine(config)


async def test_a_random_run_has_a_fault_that_acted_and_a_verdict_in_every_cycle(tmp_path: Path) -> None:
    # Issue 11: `run --inject-failure random` injected nothing in half of its cycles (pause-backup at the
    # activation found no schedule to pause).
    async with SimulatedHubPair(SimConfig(clusters=8, profile=profile_named("fast"), seed=7)) as pair:
        run = await run_engine(run_config(tmp_path, cycles=3, inject_failure="random", seed=7, fault_hold=0.3), pair)

    acted = {e.cycle_id for e in run.of("fault_injected") if e.data["success"]}
    assert acted == {f"cycle-{n:04d}" for n in range(1, 4)}, [(e.cycle_id, e.data) for e in run.of("fault_injected")]
    assert [e.data["verdict"] for e in run.of("cycle_verdict")] == ["recovered"] * 3


async def test_inject_at_fires_every_fault_at_the_named_state_of_the_switchover(pair: SimulatedHubPair,
                                                                               tmp_path: Path) -> None:
    run = await run_engine(run_config(tmp_path, cycles=1, inject_failure="api-errors", inject_at="mc-restore-running",
                                      fault_hold=0.2), pair)

    (injected,) = faults_of(run, "fault_injected")
    assert (injected["moment"], injected["phase"], injected["success"]) == ("mc-restore-running", "activation", True)
    assert faults_of(run, "cycle_verdict")[0]["verdict"] == "recovered"


async def test_argo_cd_resyncing_the_paused_application_mid_switchover_is_found_as_damage(tmp_path: Path) -> None:
    # Argo CD self-heals the old hub's BackupSchedule to Git's (unpaused) while the switchover runs.
    async with SimulatedHubPair(SimConfig(clusters=5, profile=profile_named("fast"), seed=1, argocd=True)) as pair:
        run = await run_engine(run_config(tmp_path, cycles=1, inject_failure="argocd-resync",
                                          argocd=ArgocdMode.PAUSE,
                                          fault_hold=5.0), pair)

    (injected,) = faults_of(run, "fault_injected")
    assert (injected["moment"], injected["hub"], injected["target"]) == (
        "phase:activation", "hub-a", "application/openshift-gitops/acm-hub-backup")
    (rolled,) = faults_of(run, "fault_rolled_back")
    assert rolled["success"], rolled
    (judged,) = faults_of(run, "cycle_verdict")
    assert judged["verdict"] == "damaged"
    assert [(f["name"], f["finding"]) for f in judged["findings"]] == [
        ("at most one active BackupSchedule", "unpaused: acm-hub-backup@hub-a, acm-hub-backup@hub-b")]
    assert (run.result.damaged, run.result.ok) == (1, False)
    assert run.result.summary["faults"]["scenarios"]["argocd-resync"]["damaged"] == 1


async def test_with_no_progress_display_the_log_says_what_each_fault_did(tmp_path: Path) -> None:
    """--no-progress (and a Job's JSON logs) leave the log as all a person watching sees: each fault's
    injection, roll-back and the cycle's verdict are in it."""
    finished = await run_cli(tmp_path, "run", "--cycles", "1", "--sim-profile", "fast", "--sim-clusters", "5",
                             "--inject-failure", "delay-restore", "--fault-duration", "0.2", "--no-progress",
                             "--log-format", "json")
    assert finished.returncode == 0, finished.stderr[-2000:]
    lines = [json.loads(line) for line in (finished.stdout + finished.stderr).splitlines() if line.startswith("{")]
    said = [(line["event"], line.get("scenario"), line.get("verdict")) for line in lines
            if str(line.get("event", "")).startswith(("fault", "cycle verdict"))]
    assert said == [("fault injected", "delay-restore", None), ("fault rolled back", "delay-restore", None),
                    ("cycle verdict", None, "recovered")], said
