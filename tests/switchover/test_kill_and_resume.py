"""``python -m asyncswitch switchover`` SIGKILLed at many points (right after a hub applied one of its
changes, before the answer reached it and so before its state file could say so; or while it waits),
and resumed with --resume each time: it ends in the state an uninterrupted run ends in, and no hub saw
a change twice.

The hubs are an in-process simulated pair; the request logs of its API servers say what the
pipeline's user changed, and a hook on them kills the process at the exact point."""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from asyncswitch.kube import (
    ACM_RESTORES,
    BACKUP_SCHEDULES,
    MANAGED_CLUSTERS,
    MULTICLUSTER_HUBS,
    VELERO_BACKUPS,
    Hub,
)
from asyncswitch.sim.acm import SimulatedHubPair

from .support import (
    ACM_NS,
    ACTIVATION_RESTORE,
    BACKUP_CLUSTER_LABEL,
    BACKUP_NS,
    PASSIVE_RESTORE,
    SCHEDULE,
    SCHEDULE_TYPE_LABEL,
    AfterMutation,
    Cli,
    KillSwitch,
    assert_switched_over,
    backup_names,
    fleet_names,
    mutation_counts,
    pipeline_mutations,
    read_state,
    switchover_args,
)

pytestmark = pytest.mark.pair(clusters=6, profile="fast", speed=400)

Key = tuple[str, str, str | None, str | None]


@dataclass(frozen=True)
class WhenStateSays:
    """The moment the state file first shows ``phase``: the process is inside that phase's waits."""

    phase: str

    def __str__(self) -> str:
        return f"when the state file says {self.phase}"


KillPoint = AfterMutation | WhenStateSays


async def switch_killing_at(pair: SimulatedHubPair, hubs: dict[str, Hub], kubeconfig: Path, tmp_path: Path,
                            old: str, new: str, points: list[KillPoint], *, method: str = "passive",
                            action: str = "secondary", activation: str = "patch") -> dict[str, Counter[Key]]:
    """Run the switchover old → new as a process, kill it at each point in turn and resume it each time,
    then resume it to the end; returns what the pipeline changed on each hub (change → times applied)."""
    started = time.time()
    before = await backup_names(hubs[new])
    state_file = tmp_path / f"{old}-to-{new}.json"
    cli = Cli(tmp_path)
    killer = KillSwitch(pair, cli)
    try:
        for i, point in enumerate(points):
            resume = ["--resume"] if i else []
            args = switchover_args(kubeconfig, old, new, state_file, *resume, method=method, action=action,
                                   activation=activation)
            if isinstance(point, AfterMutation):
                killer.arm(point)
                result = await cli.run(*args)
            else:
                async def kill_when_state_says(process: asyncio.subprocess.Process, wanted: str = point.phase) -> None:
                    # The process is outside this one: read its state file until it shows the phase.
                    while process.returncode is None:
                        if state_file.exists() and read_state(state_file)["phase"] == wanted:
                            cli.kill()
                            return
                        await asyncio.sleep(0.005)
                result = await cli.run(*args, while_running=kill_when_state_says)
            assert result.returncode == -signal.SIGKILL, f"the run ended before it was killed {point}: " \
                                                         f"{result.stdout}{result.stderr[-3000:]}"
            assert read_state(state_file)["phase"] != "completed"
        killer.arm(None)
        final = await cli.run(*switchover_args(kubeconfig, old, new, state_file, "--resume", method=method,
                                               action=action, activation=activation))
    finally:
        killer.close()
    assert final.returncode == 0, final.stderr[-3000:]
    assert f"switchover {old} -> {new} completed" in final.stdout
    assert read_state(state_file)["phase"] == "completed"
    await assert_switched_over(pair, hubs, old=old, new=new, action=action, backups_before=before)
    return {server.name: mutation_counts(pipeline_mutations(server, since=started))
            for server in (pair.hub_a, pair.hub_b)}


def assert_each_object_created_and_deleted_at_most_once(changes: dict[str, Counter[Key]]) -> None:
    for hub, counts in changes.items():
        repeated = {key: n for key, n in counts.items() if key[0] in ("create", "delete") and n > 1}
        assert repeated == {}, f"{hub} saw these changes more than once"


def pause(hub_changes: Counter[Key]) -> int:
    return hub_changes[("patch", BACKUP_SCHEDULES.key, BACKUP_NS, SCHEDULE)]


def annotated(hub_changes: Counter[Key], clusters: set[str]) -> dict[str, int]:
    return {name: hub_changes[("patch", MANAGED_CLUSTERS.key, None, name)] for name in sorted(clusters)}


async def test_a_passive_switchover_killed_after_each_change_and_resumed_changes_each_object_once_there_and_back(
    pair: SimulatedHubPair, hubs: dict[str, Hub], kubeconfig: Path, tmp_path: Path,
) -> None:
    fleet = fleet_names(pair)
    there = await switch_killing_at(pair, hubs, kubeconfig, tmp_path, "hub-a", "hub-b", [
        AfterMutation("hub-a", "patch", BACKUP_SCHEDULES),                   # the old hub's schedule paused
        AfterMutation("hub-a", "patch", MANAGED_CLUSTERS, nth=3),            # half the fleet annotated
        AfterMutation("hub-b", "patch", ACM_RESTORES, name=PASSIVE_RESTORE),  # the passive Restore activated
        WhenStateSays("post_activation_verification"),                      # waiting for the clusters
        AfterMutation("hub-b", "delete", ACM_RESTORES, name=PASSIVE_RESTORE),  # the new hub's Restore deleted
        AfterMutation("hub-b", "create", BACKUP_SCHEDULES),                  # the new hub's schedule created
        AfterMutation("hub-a", "create", ACM_RESTORES),                      # the old hub made passive
    ])
    assert pause(there["hub-a"]) == 1
    assert annotated(there["hub-a"], fleet) == dict.fromkeys(sorted(fleet), 1)
    assert there["hub-b"][("patch", ACM_RESTORES.key, BACKUP_NS, PASSIVE_RESTORE)] == 1
    assert there["hub-b"][("delete", ACM_RESTORES.key, BACKUP_NS, PASSIVE_RESTORE)] == 1
    assert there["hub-b"][("create", BACKUP_SCHEDULES.key, BACKUP_NS, None)] == 1
    assert there["hub-a"][("create", ACM_RESTORES.key, BACKUP_NS, None)] == 1
    assert_each_object_created_and_deleted_at_most_once(there)
    # The run resumed after hub-b's schedule was created took that schedule's first backup as the new
    # hub's first: it did not wait a whole cron period (an hour on a real hub) for a second one.
    own = await hubs["hub-b"].list(VELERO_BACKUPS, BACKUP_NS, label_selector={
        SCHEDULE_TYPE_LABEL: "managedClusters", BACKUP_CLUSTER_LABEL: pair.hubs["hub-b"].cluster_id})
    assert len(own.items) == 1

    back = await switch_killing_at(pair, hubs, kubeconfig, tmp_path, "hub-b", "hub-a", [
        AfterMutation("hub-a", "delete", BACKUP_SCHEDULES, name=SCHEDULE),  # hub-a's old schedule, to recreate
    ])
    assert pause(back["hub-b"]) == 1
    assert annotated(back["hub-b"], fleet) == dict.fromkeys(sorted(fleet), 1)
    assert back["hub-a"][("patch", ACM_RESTORES.key, BACKUP_NS, PASSIVE_RESTORE)] == 1
    assert back["hub-a"][("delete", BACKUP_SCHEDULES.key, BACKUP_NS, SCHEDULE)] == 1
    assert back["hub-a"][("create", BACKUP_SCHEDULES.key, BACKUP_NS, None)] == 1
    assert back["hub-b"][("create", ACM_RESTORES.key, BACKUP_NS, None)] == 1
    assert_each_object_created_and_deleted_at_most_once(back)


async def test_a_restore_method_activation_killed_after_each_change_and_resumed_replaces_the_restore_once(
    pair: SimulatedHubPair, hubs: dict[str, Hub], kubeconfig: Path, tmp_path: Path,
) -> None:
    changes = await switch_killing_at(pair, hubs, kubeconfig, tmp_path, "hub-a", "hub-b", [
        AfterMutation("hub-b", "delete", ACM_RESTORES, name=PASSIVE_RESTORE),  # gone after its finalizer
        AfterMutation("hub-b", "create", ACM_RESTORES),                       # restore-acm-activate
    ], activation="restore")
    assert changes["hub-b"][("delete", ACM_RESTORES.key, BACKUP_NS, PASSIVE_RESTORE)] == 1
    assert changes["hub-b"][("create", ACM_RESTORES.key, BACKUP_NS, None)] == 1
    assert changes["hub-b"][("delete", ACM_RESTORES.key, BACKUP_NS, ACTIVATION_RESTORE)] == 1
    assert_each_object_created_and_deleted_at_most_once(changes)


@pytest.mark.pair(clusters=6, profile="fast", speed=400, mch_deletion=900)
async def test_a_decommission_killed_while_the_old_hub_is_uninstalling_and_resumed_deletes_everything_once(
    pair: SimulatedHubPair, hubs: dict[str, Hub], kubeconfig: Path, tmp_path: Path,
) -> None:
    fleet = fleet_names(pair)
    # The MultiClusterHub's uninstall takes 900 simulated s (2.25 s here): the resumed run meets it half gone.
    changes = await switch_killing_at(pair, hubs, kubeconfig, tmp_path, "hub-a", "hub-b", [
        AfterMutation("hub-a", "delete", MANAGED_CLUSTERS, nth=2),
        AfterMutation("hub-a", "delete", MULTICLUSTER_HUBS),
    ], method="full", action="decommission")
    old = changes["hub-a"]
    assert {name: old[("delete", MANAGED_CLUSTERS.key, None, name)] for name in sorted(fleet)} == \
        dict.fromkeys(sorted(fleet), 1)
    assert old[("delete", MULTICLUSTER_HUBS.key, ACM_NS, "multiclusterhub")] == 1
    assert_each_object_created_and_deleted_at_most_once(changes)
