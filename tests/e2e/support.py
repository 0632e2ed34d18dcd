"""Reading what a run left: its records and its summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from asyncswitch import check_invariants
from asyncswitch.kube import MANAGED_CLUSTERS, Hub, Objects, ResourceCache

LEASE_GRACE = 600.0
"""Seconds a hub a cluster left may go on showing it Available: its lease grace (five minutes on real
hubs; a moment on the simulated pair)."""

PHASES = ("preflight", "primary_preparation", "activation", "post_activation_verification", "finalization")


def records(run_dir: Path, *types: str) -> list[dict[str, Any]]:
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    found = [json.loads(line) for line in lines]
    return [r for r in found if r["type"] in types] if types else found


def read_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _available(objects: Objects) -> set[str]:
    return {name for name, obj in objects.items() if name != "local-cluster" and any(
        c.get("type") == "ManagedClusterConditionAvailable" and c.get("status") == "True"
        for c in (obj.get("status") or {}).get("conditions") or [])}


async def assert_hubs_whole(hubs: tuple[Hub, Hub]) -> None:
    """The invariants hold across both hubs (asyncswitch.check_invariants), once the hub the clusters
    left has let their leases lapse: until then it still shows them Available, as a real hub does."""
    async with ResourceCache(hubs[0], MANAGED_CLUSTERS) as first, ResourceCache(hubs[1], MANAGED_CLUSTERS) as second:
        for here, there in ((first, second), (second, first)):
            await here.wait_for(lambda objs, there=there: not _available(objs) & _available(there.objects),
                                timeout=LEASE_GRACE, description="no cluster Available on both hubs")
    report = await check_invariants({hub.name: hub for hub in hubs})
    assert report.ok, report.findings()
