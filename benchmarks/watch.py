"""Watch throughput: ManagedCluster events per second through one engine monitor, against what the
HTTP client alone can read on this machine.

    .venv/bin/python benchmarks/watch.py [--runs 3] [--events 50000] [--clusters 3500] [--json OUT]

A minimal API server in its own process (aiohttp over TLS, like the simulator) answers every list
with an empty list and holds every watch open; on a signal it writes ``--events`` pre-encoded
MODIFIED events of ManagedClusters (about 1.2 KB each, ``--clusters`` distinct names) to every open
ManagedCluster watch as fast as the socket takes them. The server does no per-event work, so the
figures are the client's. Per run and variant, this process opens its watch, signals, and times
from the signal to the moment the variant has handled the last event; CPU is this process's
``time.process_time()`` over the same window.

Variants, each its own watch over the same bytes:

* ``aiohttp + json.loads``: the ceiling: a bare session, ``readline`` and ``json.loads`` per line;
* ``kubernetes_asyncio Watch.stream``: the library's watch over ``CustomObjectsApi``;
* ``kube.watch``: asyncswitch's resilient watch (WatchDriver: decode, resourceVersion, object map);
* ``ResourceCache + predicate``: the pipeline's waits: the cache above plus a predicate per event
  (post-activation's ``every_cluster_connected`` over the fleet);
* ``Monitors + bus``: one cycle's monitors on one hub (16 watches, only ManagedClusters busy): the
  alert rules, the reaction matcher, the bus, and the two consumers every run has (the metrics.jsonl
  writer, tallying per cycle, and the HDR collector).

Nothing here is a pass/fail test; the machine is small and shared: read medians.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import multiprocessing
import ssl
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TOKEN = "bench-token-0123456789abcdef"
PLURAL_PATH = "/apis/cluster.open-cluster-management.io/v1/managedclusters"


def managed_cluster(name: str, rv: int) -> dict[str, Any]:
    """A ManagedCluster about the size the simulator serves (1.2 KB encoded)."""
    return {
        "apiVersion": "cluster.open-cluster-management.io/v1", "kind": "ManagedCluster",
        "metadata": {"name": name, "uid": f"0f1e2d3c-{rv:04d}-4b5a-9687-a1b2c3d4e5f6", "resourceVersion": str(rv),
                     "generation": 3, "creationTimestamp": "2026-11-30T10:00:00Z",
                     "labels": {"cloud": "Amazon", "vendor": "OpenShift", "name": name,
                                "cluster.open-cluster-management.io/clusterset": "default",
                                "feature.open-cluster-management.io/addon-work-manager": "available"},
                     "annotations": {"import.open-cluster-management.io/disable-auto-import": "",
                                     "open-cluster-management/created-via": "other"},
                     "finalizers": ["cluster.open-cluster-management.io/api-resource-cleanup"]},
        "spec": {"hubAcceptsClient": True, "leaseDurationSeconds": 60,
                 "managedClusterClientConfigs": [{"url": f"https://api.{name}.example.com:6443", "caBundle": "LS0t"}]},
        "status": {"conditions": [
            {"type": t, "status": "True", "reason": r, "message": m, "lastTransitionTime": "2026-11-30T10:00:05Z"}
            for t, r, m in (("HubAcceptedManagedCluster", "HubClusterAdminAccepted", "Accepted by hub cluster admin"),
                            ("ManagedClusterJoined", "ManagedClusterJoined", "Managed cluster joined"),
                            ("ManagedClusterConditionAvailable", "ManagedClusterAvailable",
                             "Managed cluster is available"))],
                   "version": {"kubernetes": "v1.30.4"}},
    }


# -- the server process ---------------------------------------------------------------------------

def _serve(conn: Connection, events: int, clusters: int) -> None:
    asyncio.run(_serve_async(conn, events, clusters))


async def _serve_async(conn: Connection, events: int, clusters: int) -> None:
    from aiohttp import web

    from asyncswitch.sim.tls import ServingCertificate

    lines = [json.dumps({"type": "MODIFIED", "object": managed_cluster(f"cluster-{i % clusters:05d}", 100 + i)},
                        separators=(",", ":")).encode() + b"\n" for i in range(events)]
    chunks = [b"".join(lines[i:i + 64]) for i in range(0, len(lines), 64)]
    go: list[asyncio.Event] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"kind": "Status", "code": 401}, status=401)
        if request.query.get("watch") not in ("true", "1", "True"):
            return web.json_response({"kind": "List", "apiVersion": "v1", "metadata": {"resourceVersion": "1"},
                                      "items": []})
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        if request.path != PLURAL_PATH:
            await asyncio.sleep(3600)
            return response
        signal = asyncio.Event()
        go.append(signal)
        await signal.wait()
        for chunk in chunks:
            await response.write(chunk)
        await asyncio.sleep(3600)
        return response

    async def start(request: web.Request) -> web.Response:
        for signal in go:
            signal.set()
        go.clear()
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/_bench/go", start)
    app.router.add_route("GET", "/{tail:.*}", handle)
    cert = ServingCertificate.for_loopback()
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=cert.server_context())
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    conn.send((port, cert.ca_pem))
    await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # until told to stop
    await runner.cleanup()


# -- the client variants -----------------------------------------------------------------------------

class Bench:
    def __init__(self, port: int, ca_pem: bytes, kubeconfig: Path, events: int, clusters: int) -> None:
        self.url = f"https://127.0.0.1:{port}"
        self.tls = ssl.create_default_context(cadata=ca_pem.decode())
        self.kubeconfig = kubeconfig
        self.events = events
        self.clusters = clusters
        self.last_name = f"cluster-{(events - 1) % clusters:05d}"
        self.last_rv = str(100 + events - 1)

    async def go(self) -> tuple[float, float]:
        async with aiohttp.ClientSession() as session, \
                session.post(f"{self.url}/_bench/go", ssl=self.tls) as response:
            response.raise_for_status()
        return time.process_time(), time.monotonic()

    async def timed(self, ready: Callable[[], Awaitable[None]], done: asyncio.Event) -> dict[str, float]:
        await ready()
        cpu, wall = await self.go()
        await done.wait()
        cpu, wall = time.process_time() - cpu, time.monotonic() - wall
        return {"events_per_s": self.events / wall, "cpu_us_per_event": 1e6 * cpu / self.events, "wall_s": wall}

    async def raw(self) -> dict[str, float]:
        done, opened = asyncio.Event(), asyncio.Event()

        async def read() -> None:
            headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}
            async with aiohttp.ClientSession(read_bufsize=2**21) as session, session.get(
                    self.url + PLURAL_PATH, params={"watch": "true", "resourceVersion": "1"},
                    headers=headers, ssl=self.tls) as response:
                opened.set()
                count = 0
                while line := await response.content.readline():
                    json.loads(line)
                    count += 1
                    if count == self.events:
                        done.set()
                        return

        return await self.reading(read(), _waiter(opened), done)

    async def reading(self, read: Awaitable[None], ready: Callable[[], Awaitable[None]],
                      done: asyncio.Event) -> dict[str, float]:
        """Time ``read`` (a reader task that sets ``done`` at the last event) once ``ready``."""
        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(read)  # type: ignore[arg-type]
            result = await self.timed(ready, done)
            task.cancel()
        return result

    async def kubernetes_asyncio(self) -> dict[str, float]:
        from kubernetes_asyncio import client, config, watch
        done, opened = asyncio.Event(), asyncio.Event()

        async def read() -> None:
            api_client = await config.new_client_from_config(config_file=str(self.kubeconfig), context="bench",
                                                             persist_config=False)
            async with api_client, watch.Watch() as w:
                api = client.CustomObjectsApi(api_client)
                opened.set()  # the request goes out on the first iteration
                stream = w.stream(api.list_cluster_custom_object, "cluster.open-cluster-management.io",
                                  "v1", "managedclusters", resource_version="1", timeout_seconds=3600)
                async for _ in _first(stream, self.events):
                    pass
                done.set()

        async def ready() -> None:
            await opened.wait()
            await asyncio.sleep(0.7)  # the stream opens on the first iteration, after the flag
        return await self.reading(read(), ready, done)

    async def kube_watch(self) -> dict[str, float]:
        from asyncswitch.kube import MANAGED_CLUSTERS, Hub, watch
        done, synced = asyncio.Event(), asyncio.Event()

        async def changes(hub: Hub) -> Any:
            async with contextlib.aclosing(watch(hub, MANAGED_CLUSTERS)) as events:
                async for event in events:
                    if event.type == "SYNC":
                        synced.set()
                    else:
                        yield event

        async def read(hub: Hub) -> None:
            async for _ in _first(changes(hub), self.events):
                pass
            done.set()

        async with Hub.connect(self.kubeconfig, "bench") as hub:
            return await self.reading(read(hub), _waiter(synced), done)

    async def cache(self) -> dict[str, float]:
        from asyncswitch.kube import MANAGED_CLUSTERS, Hub, ResourceCache
        from asyncswitch.switchover.post_activation import every_cluster_connected
        expected = [f"cluster-{i:05d}" for i in range(min(self.clusters, self.events))]
        predicate = every_cluster_connected(expected)
        last_name, last_rv = self.last_name, self.last_rv

        held = [False]

        def check(objects: Any) -> bool:
            # The pipeline's predicate until it holds (it then reads the whole set: the wait would end
            # there), then only whether the last event has arrived, so the wait ends with the stream.
            held[0] = held[0] or predicate(objects)
            last = objects.get(last_name)
            return held[0] and last is not None and last["metadata"]["resourceVersion"] == last_rv

        async with Hub.connect(self.kubeconfig, "bench") as hub, ResourceCache(hub, MANAGED_CLUSTERS) as cache:
            await cache.ready()
            await asyncio.sleep(0.2)
            cpu, wall = await self.go()
            await cache.wait_for(check, timeout=600, description="the last event")
            cpu, wall = time.process_time() - cpu, time.monotonic() - wall
        return {"events_per_s": self.events / wall, "cpu_us_per_event": 1e6 * cpu / self.events, "wall_s": wall}

    async def monitors(self) -> dict[str, float]:
        from asyncswitch.engine import EngineEvent, EventBus
        from asyncswitch.engine.monitors import AlertThresholds, Monitors
        from asyncswitch.kube import Hub
        from asyncswitch.metrics import HdrCollector, JsonlWriter
        bus = EventBus()
        collector = HdrCollector(bus.subscribe(HdrCollector.CONSUMES))
        done = asyncio.Event()
        seen = [0]

        def publish(kind: str, data: dict[str, Any]) -> None:
            bus.publish(EngineEvent(kind, "bench", "cycle-0001", data))
            if kind == "watch_event" and data["kind"] == "ManagedCluster":
                seen[0] += 1
                if seen[0] == self.events:
                    done.set()

        with tempfile.TemporaryDirectory() as tmp:
            writer = JsonlWriter(Path(tmp) / "metrics.jsonl", bus.subscribe())
            async with Hub.connect(self.kubeconfig, "bench") as hub, asyncio.TaskGroup() as tg:
                consumers = [tg.create_task(writer.run()), tg.create_task(collector.run())]
                monitors = Monitors({hub.name: hub}, publish=publish, thresholds=AlertThresholds(),
                                    new_hub=hub.name, activation_started=lambda: None)
                await monitors.run(task_group=tg)
                await asyncio.sleep(0.2)
                cpu, wall = await self.go()
                await done.wait()
                # ... and the consumers have had every event.
                bus.close()
                await asyncio.wait(consumers)
                cpu, wall = time.process_time() - cpu, time.monotonic() - wall
                monitors.close()
        return {"events_per_s": self.events / wall, "cpu_us_per_event": 1e6 * cpu / self.events, "wall_s": wall}


async def _first(events: Any, count: int) -> Any:
    """The first ``count`` items of an async iterator."""
    seen = 0
    async for item in events:
        yield item
        seen += 1
        if seen == count:
            return


def _waiter(event: asyncio.Event) -> Callable[[], Awaitable[None]]:
    async def ready() -> None:
        await event.wait()
        await asyncio.sleep(0.2)  # the request is on the wire and the server has armed its signal
    return ready


VARIANTS = {"aiohttp + json.loads": "raw", "kubernetes_asyncio Watch.stream": "kubernetes_asyncio",
            "kube.watch": "kube_watch", "ResourceCache + predicate": "cache", "Monitors + bus": "monitors"}


def _kubeconfig(path: Path, port: int, ca_pem: bytes) -> None:
    import yaml
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "bench",
        "clusters": [{"name": "bench", "cluster": {"server": f"https://127.0.0.1:{port}",
                                                   "certificate-authority-data": base64.b64encode(ca_pem).decode()}}],
        "users": [{"name": "bench", "user": {"token": TOKEN}}],
        "contexts": [{"name": "bench", "context": {"cluster": "bench", "user": "bench"}}]}))


def one_run(variant: str, events: int, clusters: int) -> dict[str, float]:
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=_serve, args=(child, events, clusters), daemon=True)
    server.start()
    try:
        port, ca_pem = parent.recv()
        with tempfile.TemporaryDirectory() as tmp:
            kubeconfig = Path(tmp) / "bench.kubeconfig"
            _kubeconfig(kubeconfig, port, ca_pem)
            bench = Bench(port, ca_pem, kubeconfig, events, clusters)
            result: dict[str, float] = asyncio.run(getattr(bench, VARIANTS[variant])())
            return result
    finally:
        parent.send("stop")
        server.join(timeout=10)
        if server.is_alive():
            server.kill()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--clusters", type=int, default=3500)
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated, of: " + ", ".join(VARIANTS))
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    print(f"{args.events} events of {args.clusters} ManagedClusters per run, {args.runs} runs per variant; "
          f"load average {__import__('os').getloadavg()[0]:.2f}", flush=True)
    results: dict[str, list[dict[str, float]]] = {}
    for variant in args.variants.split(","):
        results[variant] = [one_run(variant, args.events, args.clusters) for _ in range(args.runs)]
        rates = [r["events_per_s"] for r in results[variant]]
        cpu = [r["cpu_us_per_event"] for r in results[variant]]
        print(f"  {variant:34} {statistics.median(rates):8,.0f} events/s [{min(rates):,.0f}-{max(rates):,.0f}]"
              f"   CPU {statistics.median(cpu):5.1f} µs/event [{min(cpu):.1f}-{max(cpu):.1f}]", flush=True)
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
