"""The generated RBAC, enforced by the emulated hubs for the ServiceAccount's token: it is enough for
every method and action, each of its grants is needed and named when missing, and the read-only role
reads but never changes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from asyncswitch.config import RunConfig
from asyncswitch.errors import AsyncswitchError
from asyncswitch.kube import Hub
from asyncswitch.rbac import RbacRequest, every_option
from asyncswitch.runner import Engine
from asyncswitch.sim import ApiServer
from asyncswitch.sim.acm import SimulatedHubPair
from asyncswitch.switchover import (
    ActivationMethod,
    Method,
    OldHubAction,
    SwitchoverEvent,
    SwitchoverOptions,
    Timeouts,
    run_switchover,
)
from asyncswitch.switchover.permissions import Permission

from ..engine.support import instant_pair
from .support import full_role, grant_both, grants, read_only_role, rows_without

MUTATING = frozenset({"create", "update", "patch", "delete", "deletecollection"})
SA_USER = "system:serviceaccount:asyncswitch:asyncswitch"


def changes(server: ApiServer) -> list[str]:
    """What the ServiceAccount changed on the hub: access reviews are questions, and the run's Lease on the
    pair is its own bookkeeping, not a change to the hub."""
    return [f"{r.verb} {r.resource} {r.name}" for r in server.requests.records()
            if r.user == SA_USER and r.verb in MUTATING and r.status < 400
            and r.resource not in ("selfsubjectaccessreviews.authorization.k8s.io", "leases.coordination.k8s.io")]


def refusals(server: ApiServer) -> list[str]:
    return [f"{r.verb} {r.resource}/{r.subresource or ''} in {r.namespace}" for r in server.requests.records()
            if r.user == SA_USER and r.status == 403]


def config_for(kubeconfig: Path, pair: SimulatedHubPair, tmp_path: Path, **options: object) -> RunConfig:
    return RunConfig(kubeconfig=kubeconfig, primary_context="hub-a", secondary_context="hub-b", cycles=1,
                     output_dir=tmp_path / "runs", progress=False,
                     timeouts=Timeouts(compactor_watch=pair.real_seconds(300)), **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(("method", "activation", "action"), [
    (Method.PASSIVE, ActivationMethod.PATCH, OldHubAction.SECONDARY),
    (Method.PASSIVE, ActivationMethod.RESTORE, OldHubAction.SECONDARY),
    (Method.FULL, ActivationMethod.PATCH, OldHubAction.SECONDARY),
    (Method.PASSIVE, ActivationMethod.PATCH, OldHubAction.DECOMMISSION),
    (Method.PASSIVE, ActivationMethod.PATCH, OldHubAction.NONE),
], ids=lambda v: str(v))
async def test_a_cycle_of_each_method_and_action_passes_with_the_generated_role(
    tmp_path: Path, method: Method, activation: ActivationMethod, action: OldHubAction,
) -> None:
    async with SimulatedHubPair(instant_pair(clusters=3)) as pair:
        kubeconfig = grant_both(pair, tmp_path / "kubeconfig", full_role())
        config = config_for(kubeconfig, pair, tmp_path, method=method, activation_method=activation,
                            old_hub_action=action)
        async with Engine(config) as engine:
            result = await engine.run()

        assert result.successes == 1, engine.cycle_results
        assert refusals(pair.hub_a) == refusals(pair.hub_b) == []
        # The ServiceAccount really did the switchover.
        assert changes(pair.hub_a)
        assert changes(pair.hub_b)


async def test_each_grant_left_out_is_named_before_anything_changes(tmp_path: Path) -> None:
    """Take any one grant (a verb on a resource in a scope) out of the role: the cycle fails naming it,
    in preflight's RBAC check or (for the monitors' watches) before the monitors start, and neither
    hub has been changed."""
    request = full_role()
    missed: list[str] = []
    async with SimulatedHubPair(instant_pair(clusters=2)) as pair:
        for number, (_, row) in enumerate(sorted(grants(request).items(), key=str)):
            kubeconfig = grant_both(pair, tmp_path / f"kubeconfig-{number}", request, rows_without(request, row))
            options = _options_needing(row)
            config = config_for(kubeconfig, pair, tmp_path, method=options.method,
                                activation_method=options.activation_method, old_hub_action=options.old_hub_action,
                                argocd=options.argocd, manage_auto_import_strategy=options.manage_auto_import_strategy)
            passed, error = await _one_cycle(config)
            wanted = row.describe()
            if passed or wanted not in error:
                missed.append(f"{wanted}: cycle {'passed' if passed else 'failed with ' + error[:300]}")
            assert changes(pair.hub_a) == changes(pair.hub_b) == [], wanted
    assert missed == [], "\n".join(missed)


async def _one_cycle(config: RunConfig) -> tuple[bool, str]:
    """Whether the run's one cycle passed, and why not: the cycle's error, or the run's own refusal to start
    (the hub pair's lease is taken before any cycle)."""
    try:
        async with Engine(config) as engine:
            result = await engine.run()
    except AsyncswitchError as exc:
        return False, str(exc)
    return bool(result.successes), str(engine.cycle_results[0].get("error") if engine.cycle_results else "")


def _options_needing(row: Permission) -> SwitchoverOptions:
    """A run whose hubs need ``row`` (the engine's rows: any run)."""
    for options in every_option():
        if row.when(options):
            return options
    raise AssertionError(f"no run needs {row}")


async def test_the_read_only_role_validates_and_dry_runs_but_a_real_switchover_stops_in_preflight(
    tmp_path: Path,
) -> None:
    async with SimulatedHubPair(instant_pair(clusters=3)) as pair:
        kubeconfig = grant_both(pair, tmp_path / "kubeconfig", read_only_role())
        async with Hub.connect(kubeconfig, "hub-a") as old, Hub.connect(kubeconfig, "hub-b") as new:
            validated = await run_switchover(primary=old, secondary=new, state_path=tmp_path / "v.json",
                                             options=SwitchoverOptions(validate_only=True))
            assert validated.success, validated.error
            # What a real switchover would be refused is said, not hidden.
            warned = [w for w in validated.results[0].warnings
                      if w.startswith("RBAC for a real switchover (primary): hub-a denies: ")]
            assert len(warned) == 1, validated.results[0].warnings
            assert "patch backupschedules" in warned[0]
            dry = await run_switchover(primary=old, secondary=new, state_path=tmp_path / "d.json",
                                       options=SwitchoverOptions(dry_run=True))
            assert dry.success, dry.error
            real = await run_switchover(primary=old, secondary=new, state_path=tmp_path / "r.json",
                                        options=SwitchoverOptions())
        assert [(r.phase, r.outcome) for r in real.results] == [("preflight", "failed")]
        assert real.error is not None
        assert "RBAC (primary)" in real.error
        assert "hub-a denies: " in real.error
        assert "patch backupschedules.cluster.open-cluster-management.io" in real.error
        assert changes(pair.hub_a) == changes(pair.hub_b) == []
        assert refusals(pair.hub_a) == refusals(pair.hub_b) == []  # asked first, never refused mid-way


async def test_a_grant_taken_away_mid_switchover_fails_its_step_with_the_servers_403(tmp_path: Path) -> None:
    """Past preflight, a refused write is the hub's own 403 in the failed phase's error, naming the verb,
    the resource and the user."""
    request = full_role()
    async with SimulatedHubPair(instant_pair(clusters=3)) as pair:
        kubeconfig = grant_both(pair, tmp_path / "kubeconfig", request)
        patch_clusters = next(p for p in grants(request).values()
                              if p.verb == "patch" and p.resource.plural == "managedclusters")
        events: asyncio.Queue[SwitchoverEvent] = asyncio.Queue()

        async def revoke_after_preflight() -> None:
            while (event := await events.get()).kind != "phase_started" or event.phase != "primary_preparation":
                pass
            grant_both(pair, tmp_path / "unused", request, rows_without(request, patch_clusters))

        async with Hub.connect(kubeconfig, "hub-a") as old, Hub.connect(kubeconfig, "hub-b") as new, \
                asyncio.TaskGroup() as tg:
            revoker = tg.create_task(revoke_after_preflight())
            report = await run_switchover(primary=old, secondary=new, options=SwitchoverOptions(),
                                          state_path=tmp_path / "state.json", events=events)
            revoker.cancel()

    assert [(r.phase, r.outcome) for r in report.results] == [("preflight", "succeeded"),
                                                               ("primary_preparation", "failed")]
    assert report.error is not None
    assert "403" in report.error
    assert (f'User "{SA_USER}" cannot patch resource "managedclusters" in API group '
            '"cluster.open-cluster-management.io" at the cluster scope') in report.error


REAL_HUB_FAULTS = "pause-backup,delay-restore,kill-observability-pod,backup-operator-restart,stale-auto-import"


async def test_faults_on_real_hubs_need_the_fault_injection_grants_and_are_refused_up_front_without(
    tmp_path: Path,
) -> None:
    async with SimulatedHubPair(instant_pair(clusters=3)) as pair:
        kubeconfig = grant_both(pair, tmp_path / "kubeconfig", full_role())
        config = config_for(kubeconfig, pair, tmp_path, inject_failure=REAL_HUB_FAULTS, fault_hold=0.2)
        passed, error = await _one_cycle(config)
        assert not passed
        assert "RBAC: hub-a denies what the monitors and the fault injection need: " in error
        assert "delete pods in open-cluster-management-observability" in error
        assert changes(pair.hub_a) == changes(pair.hub_b) == []

        kubeconfig = grant_both(pair, tmp_path / "kubeconfig-faults", RbacRequest(every_option(), fault_injection=True))
        config = config_for(kubeconfig, pair, tmp_path, inject_failure=REAL_HUB_FAULTS, fault_hold=0.2)
        async with Engine(config) as engine:
            result = await engine.run()
        assert result.successes == 1, engine.cycle_results
        assert result.damaged == 0
        assert refusals(pair.hub_a) == refusals(pair.hub_b) == []
        assert len(engine.cycle_results[0]["faults"]) == len(REAL_HUB_FAULTS.split(","))
