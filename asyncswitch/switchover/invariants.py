"""What must hold across the two hubs whenever no switchover is in flight, checked in one place.

- every managed cluster Available on exactly one hub;
- exactly one unpaused BackupSchedule across the hubs, and none in BackupCollision;
- at most one Thanos compactor running across the hubs (exactly one when a hub runs observability);
- no Argo CD Application left with its auto-sync paused by a switchover.

    report = await check_invariants({"hub-a": hub_a, "hub-b": hub_b})
    if not report.ok:
        print(report.findings())

The switchover's final verification, the end-to-end tests and fault injection share it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..kube import ARGO_APPLICATIONS, BACKUP_SCHEDULES, MANAGED_CLUSTERS, MULTICLUSTER_OBSERVABILITIES, PODS, Hub
from .facts import condition_status, managed_clusters, phase
from .names import AVAILABLE, BACKUP_NAMESPACE, OBSERVABILITY_NAMESPACE
from .observability import COMPACTOR_SELECTOR, running_compactors

__all__ = ["ARGOCD_PAUSE_MARKER", "Invariant", "InvariantReport", "check_invariants"]

ARGOCD_PAUSE_MARKER = "acm-switchover.argoproj.io/paused-by"
"""The annotation a switchover puts on an Argo CD Application whose auto-sync it paused."""


@dataclass(frozen=True)
class Invariant:
    name: str
    ok: bool
    finding: str
    """One line: what was found."""

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "finding": self.finding}


@dataclass(frozen=True)
class InvariantReport:
    results: tuple[Invariant, ...]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    def failed(self) -> list[Invariant]:
        return [r for r in self.results if not r.ok]

    def findings(self) -> str:
        return "; ".join(f"{r.name}: {r.finding}" for r in self.results)

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "invariants": [r.to_json() for r in self.results]}


def _names(items: list[str], limit: int = 5) -> str:
    return ", ".join(items[:limit]) + (f" and {len(items) - limit} more" if len(items) > limit else "")


async def _clusters(hubs: Mapping[str, Hub]) -> Invariant:
    available: dict[str, list[str]] = {}
    for hub_name, hub in hubs.items():
        clusters = managed_clusters({c["metadata"]["name"]: c for c in (await hub.list(MANAGED_CLUSTERS)).items})
        for name, cluster in clusters.items():
            holders = available.setdefault(name, [])
            if condition_status(cluster, AVAILABLE) == "True":
                holders.append(hub_name)
    nowhere = sorted(n for n, h in available.items() if not h)
    twice = sorted(f"{n} ({', '.join(h)})" for n, h in available.items() if len(h) > 1)
    ok = not nowhere and not twice
    finding = (f"{len(available)} cluster(s), each Available on one hub" if ok else
               "; ".join(part for part in (
                   f"Available on no hub: {_names(nowhere)}" if nowhere else "",
                   f"Available on two hubs: {_names(twice)}" if twice else "") if part))
    return Invariant("managed clusters on exactly one hub", ok, finding)


async def _schedules(hubs: Mapping[str, Hub]) -> Invariant:
    active: list[str] = []
    collided: list[str] = []
    for hub_name, hub in hubs.items():
        for schedule in (await hub.list(BACKUP_SCHEDULES, BACKUP_NAMESPACE)).items:
            where = f"{schedule['metadata']['name']}@{hub_name}"
            if phase(schedule) == "BackupCollision":
                collided.append(where)
            elif not (schedule.get("spec") or {}).get("paused"):
                active.append(where)
    ok = len(active) == 1 and not collided
    finding = f"unpaused: {_names(active) or 'none'}" + (f"; BackupCollision: {_names(collided)}" if collided else "")
    return Invariant("one active BackupSchedule", ok, finding)


async def _compactors(hubs: Mapping[str, Hub]) -> Invariant:
    running: list[str] = []
    observed = False
    for hub_name, hub in hubs.items():
        observed = observed or bool((await hub.list(MULTICLUSTER_OBSERVABILITIES)).items)
        pods = await hub.list(PODS, OBSERVABILITY_NAMESPACE, label_selector=COMPACTOR_SELECTOR)
        running += [f"{p}@{hub_name}" for p in running_compactors({p["metadata"]["name"]: p for p in pods.items})]
    ok = len(running) == 1 if observed else not running
    return Invariant("one Thanos compactor", ok, f"running: {_names(running) or 'none'}"
                     + ("" if observed else " (no MultiClusterObservability on either hub)"))


async def _argocd(hubs: Mapping[str, Hub]) -> Invariant:
    paused: list[str] = []
    for hub_name, hub in hubs.items():
        apps = (await hub.list(ARGO_APPLICATIONS)).items  # a hub without Argo CD lists none
        paused.extend(f"{a['metadata'].get('namespace')}/{a['metadata']['name']}@{hub_name}" for a in apps
                      if ARGOCD_PAUSE_MARKER in (a["metadata"].get("annotations") or {}))
    return Invariant("no Argo CD auto-sync left paused", not paused,
                     f"paused by a switchover: {_names(paused)}" if paused else "none paused")


async def check_invariants(hubs: Mapping[str, Hub]) -> InvariantReport:
    """Read both hubs and check every invariant; each result says what was found, in one line."""
    return InvariantReport((await _clusters(hubs), await _schedules(hubs), await _compactors(hubs),
                            await _argocd(hubs)))
