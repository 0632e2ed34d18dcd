"""The verdict on a cycle that had faults: read both hubs once the switchover is over and class it.

- ``recovered``: the switchover succeeded and every invariant holds;
- ``failed-safe``: the switchover stopped, and the hubs are consistent: no cluster Available on two
  hubs, at most one unpaused BackupSchedule and none in BackupCollision, at most one compactor, every
  BSL Available, no cluster lost. (A stopped switchover may leave no schedule running, or clusters
  still connecting: that is what ``--resume`` or a rerun finishes, not damage.)
- ``damaged``: an invariant that must hold broke. A real finding.

Beyond asyncswitch.check_invariants, the verdict checks that every BSL is Available, that the number
of managed clusters across the hubs is what it was when the cycle started, and that the active hub's
newest Completed managed-clusters backup is newer than every ManagedCluster on it (a cluster imported
after it would be lost by the next switchover).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...kube import (
    BACKUP_SCHEDULES,
    BACKUP_STORAGE_LOCATIONS,
    MANAGED_CLUSTERS,
    PODS,
    VELERO_BACKUPS,
    Hub,
    HubApiError,
    Objects,
    ResourceCache,
    WaitTimeout,
)
from ...switchover import check_invariants
from ...switchover.facts import backup_type, condition_status, managed_clusters, parse_time, phase
from ...switchover.invariants import Invariant, InvariantReport
from ...switchover.names import AVAILABLE, BACKUP_NAMESPACE, LOCAL_CLUSTER, OBSERVABILITY_NAMESPACE
from ...switchover.observability import COMPACTOR_SELECTOR, running_compactors

__all__ = ["DAMAGED", "FAILED_SAFE", "RECOVERED", "Verdict", "count_clusters", "judge"]

RECOVERED, FAILED_SAFE, DAMAGED = "recovered", "failed-safe", "damaged"
LEASE_SETTLE = 600.0
"""Seconds to let the hub the clusters left stop showing them Available (its lease grace: five
minutes on real hubs, a moment on the simulated pair) before the clusters are judged."""


@dataclass(frozen=True)
class Verdict:
    verdict: str
    report: InvariantReport

    def to_json(self) -> dict[str, Any]:
        return {"verdict": self.verdict, **self.report.to_json()}


def _available(objects: Objects) -> set[str]:
    return {n for n, c in managed_clusters(objects).items() if condition_status(c, AVAILABLE) == "True"}


async def count_clusters(hubs: Mapping[str, Hub]) -> int:
    """Managed clusters known to either hub (local-cluster not counted)."""
    names: set[str] = set()
    for hub in hubs.values():
        names |= set(managed_clusters({c["metadata"]["name"]: c for c in (await hub.list(MANAGED_CLUSTERS)).items}))
    return len(names)


async def _leases_lapsed(hubs: Mapping[str, Hub], timeout: float) -> None:  # noqa: ASYNC109
    first, second = hubs.values()
    async with ResourceCache(first, MANAGED_CLUSTERS) as a, ResourceCache(second, MANAGED_CLUSTERS) as b:
        await a.ready()
        await b.ready()
        for here, there in ((a, b), (b, a)):
            def apart(objs: Objects, there: ResourceCache = there) -> bool:
                return not _available(objs) & _available(there.objects)
            await here.wait_for(apart, timeout=timeout, description="no cluster Available on both hubs")


async def _split_brain(hubs: Mapping[str, Hub]) -> Invariant:
    seen: dict[str, list[str]] = {}
    for name, hub in hubs.items():
        for cluster in _available({c["metadata"]["name"]: c for c in (await hub.list(MANAGED_CLUSTERS)).items}):
            seen.setdefault(cluster, []).append(name)
    twice = sorted(c for c, where in seen.items() if len(where) > 1)
    return Invariant("no cluster Available on two hubs", not twice,
                     f"Available on two hubs: {', '.join(twice[:5])}" if twice else "none")


async def _schedules_at_most_one(hubs: Mapping[str, Hub]) -> Invariant:
    active, collided = [], []
    for name, hub in hubs.items():
        for s in (await hub.list(BACKUP_SCHEDULES, BACKUP_NAMESPACE)).items:
            where = f"{s['metadata']['name']}@{name}"
            if phase(s) == "BackupCollision":
                collided.append(where)
            elif not (s.get("spec") or {}).get("paused"):
                active.append(where)
    return Invariant("at most one active BackupSchedule", len(active) <= 1 and not collided,
                     f"unpaused: {', '.join(active) or 'none'}"
                     + (f"; BackupCollision: {', '.join(collided)}" if collided else ""))


async def _compactors_at_most_one(hubs: Mapping[str, Hub]) -> Invariant:
    running: list[str] = []
    for name, hub in hubs.items():
        pods = await hub.list(PODS, OBSERVABILITY_NAMESPACE, label_selector=COMPACTOR_SELECTOR)
        running += [f"{p}@{name}" for p in running_compactors({p["metadata"]["name"]: p for p in pods.items})]
    return Invariant("at most one Thanos compactor", len(running) <= 1, f"running: {', '.join(running) or 'none'}")


async def _bsls(hubs: Mapping[str, Hub]) -> Invariant:
    bad: list[str] = []
    for name, hub in hubs.items():
        bad.extend(f"{bsl['metadata']['name']}@{name} {phase(bsl) or 'unknown'}"
                   for bsl in (await hub.list(BACKUP_STORAGE_LOCATIONS, BACKUP_NAMESPACE)).items
                   if phase(bsl) != "Available")
    return Invariant("every BSL Available", not bad, f"not Available: {', '.join(bad)}" if bad else "all Available")


async def _cluster_count(hubs: Mapping[str, Hub], expected: int | None) -> Invariant:
    found = await count_clusters(hubs)
    ok = expected is None or found == expected
    return Invariant("cluster count unchanged", ok, f"{found} cluster(s)" + ("" if ok else f", {expected} before"))


async def _backup_covers_clusters(hubs: Mapping[str, Hub]) -> Invariant:
    name = "newest backup holds every cluster"
    for hub_name, hub in hubs.items():
        schedules = (await hub.list(BACKUP_SCHEDULES, BACKUP_NAMESPACE)).items
        if not any(not (s.get("spec") or {}).get("paused") for s in schedules):
            continue
        backups = [b for b in (await hub.list(VELERO_BACKUPS, BACKUP_NAMESPACE)).items
                   if backup_type(b) == "managedClusters" and phase(b) == "Completed"]
        if not backups:
            return Invariant(name, False, f"no Completed managed-clusters backup on {hub_name}")
        newest = max(parse_time((b.get("status") or {}).get("startTimestamp")) or 0.0 for b in backups)
        clusters = (await hub.list(MANAGED_CLUSTERS)).items
        later = sorted(c["metadata"]["name"] for c in clusters if c["metadata"]["name"] != LOCAL_CLUSTER
                       and (parse_time(c["metadata"].get("creationTimestamp")) or 0.0) > newest)
        return Invariant(name, not later, f"created after the newest backup on {hub_name}: {', '.join(later[:5])}"
                         if later else f"the newest backup on {hub_name} is newer than every cluster")
    return Invariant(name, True, "no hub takes backups: nothing to compare")


async def judge(hubs: Mapping[str, Hub], *, success: bool, expected_clusters: int | None,
                settle: float = LEASE_SETTLE) -> Verdict:
    """Class a cycle after its switchover ended (and its faults were rolled back)."""
    with contextlib.suppress(WaitTimeout):  # the split-brain invariant below then says which clusters
        await _leases_lapsed(hubs, settle)
    try:
        if success:
            base = await check_invariants(hubs)
            extra = (await _bsls(hubs), await _cluster_count(hubs, expected_clusters),
                     await _backup_covers_clusters(hubs))
            report = InvariantReport(base.results + extra)
            return Verdict(RECOVERED if report.ok else DAMAGED, report)
        report = InvariantReport((await _split_brain(hubs), await _schedules_at_most_one(hubs),
                                  await _compactors_at_most_one(hubs), await _bsls(hubs),
                                  await _cluster_count(hubs, expected_clusters)))
        return Verdict(FAILED_SAFE if report.ok else DAMAGED, report)
    except HubApiError as exc:
        report = InvariantReport((Invariant("hubs readable", False, str(exc)),))
        return Verdict(DAMAGED, report)
