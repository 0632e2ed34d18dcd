"""The simulated hub pair's own cost: memory and CPU at a given fleet size, idle and during a switchover.

    .venv/bin/python benchmarks/simulator.py [--clusters 3500] [--profile fast] [--idle 10] [--runs 3]

Each run starts a fresh SimulatedHubPair in this process, measures start-up, an idle window,
and a passive switchover from hub-a to hub-b driven straight through the store (no HTTP
client, so the figures are the simulator's alone), then stops it. Peak RSS is the process's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from asyncswitch.sim.acm import SimConfig, SimulatedHubPair, profile_named
from asyncswitch.sim.acm.kinds import (
    ACM_RESTORES,
    AVAILABLE,
    BACKUP_NAMESPACE,
    BACKUP_SCHEDULES,
    DISABLE_AUTO_IMPORT,
    LOCAL_CLUSTER,
    MANAGED_CLUSTERS,
    PASSIVE_RESTORE,
    SCHEDULE_NAME,
)
from asyncswitch.sim.store import DELETED, Store

MERGE = "application/merge-patch+json"


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _until_all(store: Store, want: str, names: set[str]) -> None:
    """Wait until every named cluster's Available condition is ``want``, tracking changes incrementally."""
    missing = set(names)
    with store.watch(MANAGED_CLUSTERS) as watch:
        for stored in store.list(MANAGED_CLUSTERS).items:
            if _available(stored.obj) == want:
                missing.discard(stored.name)
        while missing:
            item = await watch.next()
            if item is None:
                raise RuntimeError("watch closed")
            kind, stored = item
            if kind != DELETED and _available(stored.obj) == want:
                missing.discard(stored.name)


def _available(obj: dict[str, Any]) -> str | None:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == AVAILABLE:
            return str(c.get("status"))
    return None


async def _phase(store: Store, name: str, phases: tuple[str, ...]) -> None:
    with store.watch(ACM_RESTORES, BACKUP_NAMESPACE) as watch:
        while True:
            found = store.find(ACM_RESTORES, BACKUP_NAMESPACE, name)
            if found is not None and (found.obj.get("status") or {}).get("phase") in phases:
                return
            if await watch.next() is None:
                raise RuntimeError("watch closed")


async def one_run(clusters: int, profile: str, idle: float) -> dict[str, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    async with SimulatedHubPair(SimConfig(clusters=clusters, profile=profile_named(profile))) as pair:
        startup_s, startup_cpu = time.perf_counter() - t0, time.process_time() - c0
        rss_after_start = _rss_mib()
        c1 = time.process_time()
        await asyncio.sleep(idle)  # the idle window is what is measured
        idle_cpu = time.process_time() - c1
        a, b = pair.hubs["hub-a"].store, pair.hubs["hub-b"].store
        names = {s.name for s in a.list(MANAGED_CLUSTERS).items if s.name != LOCAL_CLUSTER}
        t2, c2 = time.perf_counter(), time.process_time()
        a.patch(BACKUP_SCHEDULES, BACKUP_NAMESPACE, SCHEDULE_NAME, MERGE, {"spec": {"paused": True}})
        for name in names:
            a.patch(MANAGED_CLUSTERS, None, name, MERGE, {"metadata": {"annotations": {DISABLE_AUTO_IMPORT: ""}}})
        b.patch(ACM_RESTORES, BACKUP_NAMESPACE, PASSIVE_RESTORE, MERGE,
                {"spec": {"veleroManagedClustersBackupName": "latest"}})
        async with asyncio.timeout(3600):
            await _phase(b, PASSIVE_RESTORE, ("Finished", "FinishedWithErrors", "Error"))
            await _until_all(b, "True", names)
            await _until_all(a, "Unknown", names)
        switch_s, switch_cpu = time.perf_counter() - t2, time.process_time() - c2
    return {
        "startup_s": startup_s, "startup_cpu_s": startup_cpu, "rss_after_start_mib": rss_after_start,
        "idle_cpu_s": idle_cpu, "idle_cpu_share": idle_cpu / idle,
        "switchover_s": switch_s, "switchover_cpu_s": switch_cpu, "peak_rss_mib": _rss_mib(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--clusters", type=int, default=3500)
    parser.add_argument("--profile", default="fast")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of idle measurement")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(asyncio.run(one_run(args.clusters, args.profile, args.idle))))
        return 0
    # Each run in a fresh process, so peak RSS is that run's own.
    runs = []
    for _ in range(args.runs):
        out = subprocess.run([sys.executable, __file__, "--one", "--clusters", str(args.clusters),
                              "--profile", args.profile, "--idle", str(args.idle)],
                             check=True, capture_output=True, text=True)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"simulated hub pair, {args.clusters} clusters, profile {args.profile}, {args.runs} runs "
          "(median [min-max])")
    for key in runs[0]:
        values = [r[key] for r in runs]
        print(f"  {key:22} {statistics.median(values):10.3f}  [{min(values):.3f}-{max(values):.3f}]")
    if args.json:
        args.json.write_text(json.dumps({"clusters": args.clusters, "profile": args.profile, "runs": runs}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
