"""Argo CD auto-sync undoes a switchover (domain facts §5.20): the Applications that manage ACM resources
are reported in preflight, and with --argocd pause their auto-sync is paused before primary preparation
and restored after finalization; --argocd refuse stops in preflight."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from asyncswitch.kube import ARGO_APPLICATIONS, BACKUP_SCHEDULES, Hub, WaitTimeout
from asyncswitch.sim.acm import SimulatedHubPair
from asyncswitch.switchover import SwitchoverEvent

from .support import (
    BACKUP_NS,
    SCHEDULE,
    annotations,
    assert_switched_over,
    backup_names,
    options,
    pipeline_mutations,
    read_state,
    switch,
    wait_until,
)

GITOPS_NS = "openshift-gitops"
APP = "acm-hub-backup"
MARKER = "acm-switchover.argoproj.io/paused-by"

# Argo CD self-heals 180 simulated s after a change: 0.45 s real here (and never before 0.2 s).
pytestmark = pytest.mark.pair(clusters=4, profile="fast", speed=400, argocd=True, min_policy_delay=0.2)


async def test_auto_sync_is_paused_for_the_switchover_and_restored_after_it(
    pair: SimulatedHubPair, hubs: dict[str, Hub], tmp_path: Path,
) -> None:
    events: asyncio.Queue[SwitchoverEvent] = asyncio.Queue()

    async def git_follows_the_switchover() -> None:
        # The operator updates Git for the new roles during the switchover (hub-a's schedule paused), as the
        # runbook asks before auto-sync comes back.
        while True:
            event = await events.get()
            if event.kind == "phase_started" and event.phase == "finalization":
                pair.argocd["hub-a"].git["paused"] = True
                return

    helper = asyncio.create_task(git_follows_the_switchover())
    state_path = tmp_path / "state.json"
    before = await backup_names(hubs["hub-b"])
    try:
        report = await switch(hubs, "hub-a", "hub-b", state_path, options(argocd="pause"), events=events)
    finally:
        helper.cancel()
        await asyncio.wait({helper})

    assert report.success, report.error
    preflight = report.results[0]
    assert any(f"{GITOPS_NS}/{APP}" in w for w in preflight.warnings), preflight.warnings
    app = await hubs["hub-a"].get(ARGO_APPLICATIONS, APP, GITOPS_NS)
    assert app is not None
    assert app["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    assert MARKER not in annotations(app)
    assert [(r["hub"], r["name"]) for r in read_state(state_path)["facts"]["argocd_paused"]] == [("primary", APP)]
    await assert_switched_over(pair, hubs, old="hub-a", new="hub-b", action="secondary", backups_before=before)
    with pytest.raises(WaitTimeout):  # Argo CD, back in charge, keeps hub-a's schedule paused, as Git now says
        await wait_until(hubs["hub-a"], BACKUP_SCHEDULES,
                         lambda objs: not (objs.get(SCHEDULE, {}).get("spec") or {}).get("paused"),
                         namespace=BACKUP_NS, description="hub-a's schedule unpaused", timeout=1.5)


async def test_refuse_stops_in_preflight_naming_the_application(
    pair: SimulatedHubPair, hubs: dict[str, Hub], tmp_path: Path,
) -> None:
    report = await switch(hubs, "hub-a", "hub-b", tmp_path / "state.json", options(argocd="refuse"))

    assert [(r.phase, r.outcome) for r in report.results] == [("preflight", "failed")]
    assert report.error is not None
    assert f"hub-a: {GITOPS_NS}/{APP} auto-syncs ACM resources (BackupSchedule)" in report.error
    assert pipeline_mutations(pair.hub_a) == pipeline_mutations(pair.hub_b) == []
