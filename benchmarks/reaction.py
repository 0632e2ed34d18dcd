"""How soon the switchover pipeline notices a change on a hub: from the moment the hub commits it to the
moment the pipeline's wait (a ResourceCache.wait_for predicate over every watched object) returns.

Usage::

    .venv/bin/python benchmarks/reaction.py [--runs 5] [--samples 1000] [--waves 3] [--fleets 20,3500]
                                            [--modes process,same-loop] [--predicates pipeline,full-scan]
                                            [--json OUT]

Every run starts a fresh emulated API server serving ManagedClusters over HTTPS, seeds a fleet of
``--fleets`` clusters (plus local-cluster), all Available and Joined, and connects our client
(asyncswitch.kube.Hub). Then, as post-activation verification does, one ResourceCache over every
ManagedCluster and one ``wait_for`` on "every cluster Available and Joined":

* single changes (``--samples`` per run, after 50 warm-up): one cluster turns unavailable (a reset, not
  measured), a fresh wait starts, the cluster turns Available again in the server's store; the delay is
  from the store's commit (``time.monotonic()`` right after it returns) to the code after ``wait_for``
  running (``time.monotonic()``): the watch event's encoding, the HTTPS stream, parsing, the cache
  update, the predicate, and the waiting task being scheduled;
* reconnect waves (``--waves`` per run): every cluster turns Available, one commit each, as fast as the
  store takes them (a compressed reconnect: on the simulator's fast profile 3,500 clusters reconnect
  within about 1.4 s); the delay is from the last commit to the wait returning.

Predicates: ``pipeline`` is the one post-activation uses (asyncswitch.switchover.post_activation.
every_cluster_connected); ``full-scan`` is the one it used before, reading the whole fleet on every event.

Modes: ``process`` runs the server in its own process (``spawn``), as ``python -m asyncswitch sim`` does for
the command line or as a real hub would; its store is driven over a pipe and reports its commit time
(CLOCK_MONOTONIC is shared by all processes of the machine). ``same-loop`` runs server and client on one
event loop, as ``python -m asyncswitch run`` does with its embedded simulated hubs.

Figures are per run, then the median over runs with the min-max spread. Nothing here is a pass/fail
test; the machine is small and shared, so read medians.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import multiprocessing.connection
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from asyncswitch.kube import MANAGED_CLUSTERS, Hub, ResourceCache
from asyncswitch.sim import ApiServer, kubeconfig_for, write_kubeconfig
from asyncswitch.sim.acm import kinds
from asyncswitch.switchover.facts import connected, managed_clusters
from asyncswitch.switchover.post_activation import every_cluster_connected

MERGE = "application/merge-patch+json"
WARMUP = 50
Objects = Mapping[str, Mapping[str, Any]]
Predicate = Callable[[Objects], bool]


def full_scan(expected: Iterable[str]) -> Predicate:
    """Post-activation's predicate before every_cluster_connected: the whole fleet read on every event."""
    wanted = set(expected)

    def check(objects: Objects) -> bool:
        clusters = managed_clusters(objects)
        names = {c["metadata"]["name"] for c in clusters.values()}
        if not names or not wanted <= names:
            return False
        return all(connected(c) for c in clusters.values())

    return check


PREDICATES: dict[str, Callable[[Iterable[str]], Predicate]] = {
    "pipeline": every_cluster_connected, "full-scan": full_scan}


def _conditions(available: bool) -> list[dict[str, Any]]:
    stamp = "2026-01-01T00:00:00Z"
    return [{"type": kinds.JOINED, "status": "True", "reason": "ManagedClusterJoined", "lastTransitionTime": stamp},
            {"type": kinds.AVAILABLE, "status": "True" if available else "False", "reason": "Bench",
             "lastTransitionTime": stamp}]


def fleet_names(size: int) -> list[str]:
    return [f"cluster-{i + 1:04d}" for i in range(size)]


class Fleet:
    """A server's store seeded with local-cluster and ``size`` clusters, all Available and Joined."""

    def __init__(self, server: ApiServer, size: int) -> None:
        self.store = server.store
        self.store.register(kinds.MANAGED_CLUSTERS)
        self.names = fleet_names(size)
        for name in [kinds.LOCAL_CLUSTER, *self.names]:
            self.store.create(kinds.MANAGED_CLUSTERS, None, {
                "apiVersion": "cluster.open-cluster-management.io/v1", "kind": "ManagedCluster",
                "metadata": {"name": name, "labels": {"name": name}}, "spec": {"hubAcceptsClient": True}})
            self.flip([name], available=True)

    def flip(self, names: list[str], *, available: bool) -> float:
        """Commit the change, one commit per cluster; returns the monotonic time right after the last."""
        for name in names:
            self.store.patch(kinds.MANAGED_CLUSTERS, None, name, MERGE,
                             {"status": {"conditions": _conditions(available)}}, subresource="status")
        return time.monotonic()


Flip = Callable[[list[str], bool], Awaitable[float]]


# -- the server, in its own process ------------------------------------------------------------------

def _serve(conn: multiprocessing.connection.Connection, size: int, kubeconfig: str) -> None:
    asyncio.run(_serve_async(conn, size, kubeconfig))


async def _serve_async(conn: multiprocessing.connection.Connection, size: int, kubeconfig: str) -> None:
    async with ApiServer("hub", bookmark_interval=60.0) as server:
        fleet = Fleet(server, size)
        write_kubeconfig(kubeconfig, kubeconfig_for([server]))
        done = asyncio.Event()

        def command() -> None:
            message = conn.recv()
            if message is None:
                done.set()
                return
            names, available = message
            conn.send(fleet.flip(names, available=available))

        asyncio.get_running_loop().add_reader(conn.fileno(), command)
        conn.send("ready")
        await done.wait()


# -- the client ----------------------------------------------------------------------------------------

async def _timed_wait(cache: ResourceCache, predicate: Predicate, flip: Flip, names: list[str]) -> float:
    """Start the wait, make the change, return the delay from its (last) commit to the wait returning."""

    async def wait() -> float:
        await cache.wait_for(predicate, timeout=600, description="the change seen")
        return time.monotonic()  # where the pipeline's code goes on

    waiting = asyncio.create_task(wait())
    await asyncio.sleep(0)  # the predicate has been checked and the waiter registered
    assert not waiting.done(), "the predicate held before the change"
    committed = await flip(names, True)
    return await waiting - committed


async def _reset(cache: ResourceCache, flip: Flip, names: list[str]) -> None:
    """Make ``names`` unavailable and wait until the cache shows it (not measured)."""
    await flip(names, False)
    await cache.wait_for(lambda objs: all(not connected(objs[n]) for n in names), timeout=600,
                         description="the reset seen")


async def _measure(hub: Hub, names: list[str], make: Callable[[Iterable[str]], Predicate], samples: int,
                   waves: int, flip: Flip) -> dict[str, list[float]]:
    delays: dict[str, list[float]] = {"single": [], "wave": []}
    async with ResourceCache(hub, MANAGED_CLUSTERS) as cache:
        await cache.ready()
        for i in range(WARMUP + samples):
            name = [names[i % len(names)]]
            await _reset(cache, flip, name)
            delay = await _timed_wait(cache, make(names), flip, name)
            if i >= WARMUP:
                delays["single"].append(delay)
        for _ in range(waves):
            await _reset(cache, flip, names)
            delays["wave"].append(await _timed_wait(cache, make(names), flip, names))
    return delays


async def _run_same_loop(size: int, predicate: str, samples: int, waves: int,
                         directory: Path) -> dict[str, list[float]]:
    async with ApiServer("hub", bookmark_interval=60.0) as server:
        fleet = Fleet(server, size)
        path = write_kubeconfig(directory / "kubeconfig", kubeconfig_for([server]))

        async def flip(names: list[str], available: bool) -> float:
            return fleet.flip(names, available=available)

        async with Hub.connect(path, "hub") as hub:
            return await _measure(hub, fleet.names, PREDICATES[predicate], samples, waves, flip)


async def _run_process(size: int, predicate: str, samples: int, waves: int,
                       directory: Path) -> dict[str, list[float]]:
    path = directory / "kubeconfig"
    spawn = multiprocessing.get_context("spawn")
    parent, child = spawn.Pipe()
    process = spawn.Process(target=_serve, args=(child, size, str(path)))
    process.start()
    loop = asyncio.get_running_loop()
    try:
        ready = await loop.run_in_executor(None, parent.recv)
        assert ready == "ready", ready

        async def flip(names: list[str], available: bool) -> float:
            parent.send((names, available))
            return float(await loop.run_in_executor(None, parent.recv))

        async with Hub.connect(path, "hub") as hub:
            return await _measure(hub, fleet_names(size), PREDICATES[predicate], samples, waves, flip)
    finally:
        parent.send(None)
        await loop.run_in_executor(None, process.join, 10)
        if process.is_alive():
            process.kill()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def _summary(delays: list[float]) -> dict[str, float]:
    ms = [d * 1000 for d in delays]
    return {"p50": _percentile(ms, 50), "p90": _percentile(ms, 90), "p99": _percentile(ms, 99), "max": max(ms),
            "mean": statistics.fmean(ms), "samples": len(ms)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--samples", type=int, default=1000, help="measured single changes per run (after 50 warm-up)")
    parser.add_argument("--waves", type=int, default=3, help="measured reconnect waves per run")
    parser.add_argument("--fleets", default="20,3500", help="comma-separated fleet sizes")
    parser.add_argument("--modes", default="process,same-loop", help="process, same-loop or both (comma-separated)")
    parser.add_argument("--predicates", default="pipeline,full-scan", help="pipeline, full-scan or both")
    parser.add_argument("--json", type=Path, default=None, help="write every run's figures here")
    args = parser.parse_args()
    if args.samples < 1 or args.runs < 1 or args.waves < 0:
        parser.error("--samples and --runs must be positive, --waves not negative")
    fleets = [int(f) for f in args.fleets.split(",")]
    print(f"# {platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}; {args.runs} runs x {args.samples} changes + {args.waves} waves",
          flush=True)
    results: dict[str, list[dict[str, float]]] = {}
    for mode in args.modes.split(","):
        runner = _run_process if mode == "process" else _run_same_loop
        for predicate in args.predicates.split(","):
            for size in fleets:
                for run in range(args.runs):
                    with tempfile.TemporaryDirectory() as tmp:
                        delays = asyncio.run(runner(size, predicate, args.samples, args.waves, Path(tmp)))
                    for kind, values in delays.items():
                        if not values:
                            continue
                        key = f"{mode}, {predicate}, {size} clusters, {kind}"
                        figures = _summary(values)
                        results.setdefault(key, []).append(figures)
                        print(f"{key}, run {run + 1}: p50 {figures['p50']:.2f} ms, p90 {figures['p90']:.2f} ms, "
                              f"p99 {figures['p99']:.2f} ms, max {figures['max']:.2f} ms ({len(values)} samples)",
                              flush=True)
    print("\n| mode, predicate, fleet, change | p50 (ms) | p90 (ms) | p99 (ms) | max (ms) |\n|---|---|---|---|---|")
    for key, runs in results.items():
        cells = []
        for stat in ("p50", "p90", "p99", "max"):
            values = [r[stat] for r in runs]
            cells.append(f"{statistics.median(values):.3g} ({min(values):.3g}-{max(values):.3g})")
        print(f"| {key} | " + " | ".join(cells) + " |")
    print(f"# load average after: {os.getloadavg()[0]:.2f}")
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
