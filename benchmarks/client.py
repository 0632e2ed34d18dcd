"""What one write to a hub costs the engine: CPU and wall time per merge PATCH through the client layer
(asyncswitch.kube.Hub), one at a time and 16 in flight, and the same PATCH through a plain aiohttp
session that trusts the environment (as kubernetes_asyncio's own session does) or does not.

Usage::

    .venv/bin/python benchmarks/client.py [--runs 3] [--patches 3000] [--clusters 3000] [--json OUT]

``python -m asyncswitch sim --clusters N --profile instant`` serves the hubs in a process of its own, so
only the client's CPU is counted (``time.process_time()`` of this process, which includes the worker
threads a trusting aiohttp session uses). Each run and variant patches ``--patches`` ManagedClusters of
hub-a with a new annotation value, after a warm-up of 100 PATCHes on the same connections.

Variants:

* ``hub sequential``, ``hub 16 in flight``: ``Hub.patch`` as the switchover's fleet-wide steps use it
  (``SwitchoverContext.for_each`` runs 16 at a time);
* ``aiohttp trust_env=True``, ``aiohttp trust_env=False``, 16 in flight: a bare ``ClientSession`` on the
  same kind of TLS connection, sending the same request with the same token, to isolate what trusting
  the environment costs (proxy variables and ~/.netrc looked up in a worker thread before every request).

Nothing here is a pass/fail test; the machine is small and shared: read medians.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import ssl
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# engine.py, beside this file: how the benchmarks start and stop the simulator in its own process.
from engine import _start_sim, _stop

from asyncswitch.kube import MANAGED_CLUSTERS, Hub

Patch = Callable[[str, str], Awaitable[None]]


async def _in_flight(names: list[str], patch: Patch, value: str, width: int) -> None:
    pending = iter(names)

    async def worker() -> None:
        for name in pending:
            await patch(name, value)

    async with asyncio.TaskGroup() as group:
        for _ in range(width):
            group.create_task(worker())


async def _measure(names: list[str], patch: Patch, width: int) -> dict[str, float]:
    await _in_flight(names[:100], patch, "warm-up", width)
    cpu, wall = time.process_time(), time.monotonic()
    await _in_flight(names, patch, str(wall), width)
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    return {"cpu_ms_per_patch": 1000 * cpu / len(names), "wall_s": wall}


def _raw_access(kubeconfig: Path) -> tuple[str, dict[str, str], ssl.SSLContext]:
    config = yaml.safe_load(kubeconfig.read_text())
    context = next(c["context"] for c in config["contexts"] if c["name"] == "hub-a")
    cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
    user = next(u["user"] for u in config["users"] if u["name"] == context["user"])
    tls = ssl.create_default_context(cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())
    headers = {"Authorization": f"Bearer {user['token']}", "Accept": "application/json",
               "Content-Type": "application/merge-patch+json"}
    return cluster["server"], headers, tls


async def one_run(kubeconfig: Path, patches: int) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    async with Hub.connect(kubeconfig, "hub-a") as hub:
        names = [c["metadata"]["name"] for c in (await hub.list(MANAGED_CLUSTERS)).items
                 if c["metadata"]["name"] != "local-cluster"][:patches]

        async def hub_patch(name: str, value: str) -> None:
            await hub.patch(MANAGED_CLUSTERS, name, {"metadata": {"annotations": {"bench": value}}})

        results["hub sequential"] = await _measure(names, hub_patch, 1)
        results["hub 16 in flight"] = await _measure(names, hub_patch, 16)

    server, headers, tls = _raw_access(kubeconfig)
    for trust in (True, False):
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=tls), trust_env=trust) as session:
            async def raw_patch(name: str, value: str, session: aiohttp.ClientSession = session) -> None:
                body = json.dumps({"metadata": {"annotations": {"bench": value}}})
                async with session.patch(f"{server}{MANAGED_CLUSTERS.path(name=name)}", data=body,
                                         headers=headers) as response:
                    response.raise_for_status()
                    json.loads(await response.read())

            results[f"aiohttp trust_env={trust}"] = await _measure(names, raw_patch, 16)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--patches", type=int, default=3000)
    parser.add_argument("--clusters", type=int, default=3000)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    runs: list[dict[str, dict[str, float]]] = []
    with tempfile.TemporaryDirectory(prefix="asyncswitch-bench-") as tmp:
        kubeconfig = Path(tmp) / "sim.kubeconfig"
        sim, _ = _start_sim(args.clusters, kubeconfig, profile="instant")
        try:
            runs.extend(asyncio.run(one_run(kubeconfig, min(args.patches, args.clusters))) for _ in range(args.runs))
        finally:
            _stop(sim)
    print(f"{min(args.patches, args.clusters)} merge PATCHes per variant, {args.runs} run(s); "
          "median [min-max] over runs")
    for variant in runs[0]:
        for key, label in (("cpu_ms_per_patch", "CPU per PATCH (ms)"), ("wall_s", "wall (s)")):
            values = [r[variant][key] for r in runs]
            print(f"  {variant:26} {label:20} {statistics.median(values):7.3f} "
                  f"[{min(values):.3f}-{max(values):.3f}]")
    if args.json is not None:
        args.json.write_text(json.dumps(runs, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
