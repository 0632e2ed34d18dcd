"""Throughput and latency of the emulated Kubernetes API server, driven by kubernetes_asyncio over HTTPS.

Usage::

    .venv/bin/python benchmarks/emulator.py [--runs 5] [--objects 5000]
                                            [--server-process | --in-process | --both]
                                            [--json OUT] [--profile DIR] [--gc-freeze]

Every run starts a fresh emulated server (by default in its own process, started with the
``spawn`` method, so client and server do not share one event loop or one GIL), preloads
``--objects`` ConfigMaps and as many custom objects, and measures in this order:

* GET of one custom object: sequential and with 8 concurrent tasks (requests/s, latency),
* merge-PATCH of one custom object, sequential (requests/s, latency),
* LIST of all preloaded objects: custom objects (dicts), ConfigMaps read raw (bytes + json.loads,
  no model building) and ConfigMaps as typed V1ConfigMapList (latency p50/p99; the server-side
  handler time comes from the server's own request log),
* watch latency: time from issuing a merge-PATCH to the watching task receiving its MODIFIED
  event, closed loop (one write in flight), over ``--watch-events`` events,
* growth with past requests: once the server has served at least 20,000 requests (filler traffic
  of GETs and PATCHes with 8 concurrent tasks makes up what the phases above did not), a second,
  fresh server is started and sequential GETs go to both in interleaved slices of 100: the fresh
  server's first 1,000 (after 50 warm-up requests) against the aged server's 1,000 after 20,000.
  Interleaving makes the machine's drift hit both sides alike; the ratio is late/first.

Besides wall-clock figures it reports CPU time per request of the server and of the client
(``time.process_time`` deltas; the server process answers a probe over its pipe), and each side's
garbage collections (``gc.callbacks``), so a tail can be traced to its cause. ``--gc-freeze`` is an
experiment: ``gc.freeze()`` after the preload, to show how much of the tail is full collections.
``--profile DIR`` writes cProfile output (of the server process, or of everything in-process).

Figures are reported per run, then as the median over runs with the min-max spread. The machine
is small and shared, so medians are the figures to read; the spread says how much to trust them.
Nothing here is a pass/fail test: the targets are printed next to the figures for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import functools
import gc
import json
import math
import multiprocessing
import multiprocessing.connection
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import version as package_version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asyncswitch.sim import ApiServer, ResourceType, Store, kubeconfig_for, write_kubeconfig

if TYPE_CHECKING:
    from kubernetes_asyncio import client

# The client libraries (kubernetes_asyncio, hdrh) are imported where they are used: the server
# process re-imports this module (multiprocessing "spawn"), and their ~33,000 objects would make
# its garbage collections slower than those of a real `python -m asyncswitch sim`.

GROUP, VERSION, PLURAL = "bench.asyncswitch.io", "v1", "widgets"
WIDGETS = ResourceType(GROUP, VERSION, PLURAL, "Widget")
HOT_NS = "bench"  # the one object GET, PATCH and the watch work on
LIST_NS = "bench-list"  # the preloaded objects LIST reads
HOT_NAME = "hot"
MERGE = "application/merge-patch+json"
CONTEXT = "hub"

CONCURRENCY = 8
GROWTH_WINDOW = 1_000
GROWTH_SLICES = 10
GROWTH_AFTER = 20_000
WARMUP_REQUESTS = 50

# Targets from the issue; printed next to the figures, never asserted.
TARGET_WATCH_P99_MS = 5.0
TARGET_LIST_MS = 100.0


# -- the server side ------------------------------------------------------------------------------


def populate(store: Store, objects: int) -> None:
    """Namespaces, ``objects`` ConfigMaps and ``objects`` Widgets to list, and the hot Widget."""
    store.register(WIDGETS)
    namespaces = store.type_of("namespaces")
    configmaps = store.type_of("configmaps")
    for ns in (HOT_NS, LIST_NS):
        store.create(namespaces, None, {"metadata": {"name": ns}})
    for i in range(objects):
        labels = {"app": "bench", "shard": str(i % 16)}
        store.create(configmaps, LIST_NS, {
            "metadata": {"name": f"cm-{i:05d}", "labels": labels, "annotations": {"bench/index": str(i)}},
            "data": {"key": f"value-{i}", "config.yaml": f"replicas: {i % 7}\nimage: example/app:{i % 13}\n"},
        })
        store.create(WIDGETS, LIST_NS, {
            "apiVersion": f"{GROUP}/{VERSION}", "kind": "Widget",
            "metadata": {"name": f"w-{i:05d}", "labels": labels},
            "spec": {"size": i % 100, "colour": ("red", "green", "blue")[i % 3], "owner": f"team-{i % 10}"},
        })
    store.create(WIDGETS, HOT_NS, {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "Widget",
        "metadata": {"name": HOT_NAME, "annotations": {"bench/sent": "0"}},
        "spec": {"size": 1, "colour": "red", "owner": "bench"},
    })


class GcMonitor:
    """Counts this process's garbage collections and how long they stopped the world."""

    def __init__(self) -> None:
        self.collections = [0, 0, 0]
        self.pause_total = 0.0
        self.pause_max = 0.0
        self.gen2_pause_max = 0.0
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        pause = time.perf_counter() - self._started
        generation = info["generation"]
        self.collections[generation] += 1
        self.pause_total += pause
        self.pause_max = max(self.pause_max, pause)
        if generation == 2:
            self.gen2_pause_max = max(self.gen2_pause_max, pause)

    def reset_peaks(self) -> None:
        """Forget the longest pauses so far (those of the preload)."""
        self.pause_max = self.gen2_pause_max = 0.0

    def install(self) -> GcMonitor:
        if self._callback not in gc.callbacks:
            gc.callbacks.append(self._callback)
        return self

    def uninstall(self) -> None:
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._callback)

    def snapshot(self, tracked: bool = False) -> dict[str, float]:
        """CPU seconds of this process so far and the GC figures, for deltas between two points.

        ``tracked`` adds how many objects the oldest generation holds (it costs milliseconds).
        """
        stats = {"cpu": time.process_time(), "gen2": float(self.collections[2]),
                 "gc_total": self.pause_total, "gc_max": self.pause_max, "gen2_max": self.gen2_pause_max}
        if tracked:
            stats["tracked"] = float(len(gc.get_objects(2)))
        return stats


def after_preload(monitor: GcMonitor, freeze: bool) -> None:
    if freeze:
        gc.collect()
        gc.freeze()
    monitor.reset_peaks()


async def _serve_until_told(conn: multiprocessing.connection.Connection, objects: int, gc_freeze: bool) -> None:
    monitor = GcMonitor().install()
    async with ApiServer(CONTEXT, tls=True, bookmark_interval=60.0) as server:
        populate(server.store, objects)
        after_preload(monitor, gc_freeze)
        conn.send(kubeconfig_for([server]))
        stop = asyncio.Event()

        def on_message() -> None:
            try:
                message = conn.recv()
            except EOFError:
                message = "stop"
            if message in ("stats", "stats+tracked"):
                conn.send(monitor.snapshot(tracked=message == "stats+tracked"))
            else:
                stop.set()

        loop = asyncio.get_running_loop()
        loop.add_reader(conn.fileno(), on_message)
        try:
            await stop.wait()
        finally:
            loop.remove_reader(conn.fileno())


def server_process_main(
    conn: multiprocessing.connection.Connection, objects: int, profile_out: str | None, gc_freeze: bool
) -> None:
    """Entry point of the server process (multiprocessing, ``spawn``): serve until the parent says stop."""
    profiler = cProfile.Profile() if profile_out else None
    if profiler is not None:
        profiler.enable()
    try:
        asyncio.run(_serve_until_told(conn, objects, gc_freeze))
    finally:
        if profiler is not None and profile_out:
            profiler.disable()
            profiler.dump_stats(profile_out)
        conn.close()


StatsProbe = Callable[[bool], Awaitable[dict[str, float]]]


@dataclass
class Target:
    """A running server to measure: its kubeconfig and a probe of the server's CPU time and GC."""

    kubeconfig: dict[str, Any]
    server_stats: StatsProbe
    separate: bool


ServerFactory = Callable[[], contextlib.AbstractAsyncContextManager[Target]]


@contextlib.asynccontextmanager
async def server_in_process(objects: int, monitor: GcMonitor, gc_freeze: bool) -> AsyncIterator[Target]:
    async def probe(tracked: bool) -> dict[str, float]:
        return monitor.snapshot(tracked)

    async with ApiServer(CONTEXT, tls=True, bookmark_interval=60.0) as server:
        populate(server.store, objects)
        after_preload(monitor, gc_freeze)
        yield Target(kubeconfig_for([server]), probe, separate=False)


@contextlib.asynccontextmanager
async def server_in_subprocess(objects: int, profile_out: str | None, gc_freeze: bool) -> AsyncIterator[Target]:
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    process = ctx.Process(target=server_process_main, args=(child, objects, profile_out, gc_freeze),
                          name="emulator-bench-server", daemon=True)
    process.start()
    child.close()

    async def probe(tracked: bool) -> dict[str, float]:
        parent.send("stats+tracked" if tracked else "stats")
        stats: dict[str, float] = await asyncio.to_thread(parent.recv)
        return stats

    try:
        try:
            if not await asyncio.to_thread(parent.poll, 120):
                raise RuntimeError("the server process did not come up within 120 s")
            doc: dict[str, Any] = parent.recv()
        except EOFError:
            raise RuntimeError(f"the server process died on start (exit code {process.exitcode})") from None
        yield Target(doc, probe, separate=True)
    finally:
        with contextlib.suppress(OSError):
            parent.send("stop")
        await asyncio.to_thread(process.join, 30)
        if process.is_alive():
            process.terminate()
            await asyncio.to_thread(process.join, 5)
        parent.close()


# -- small helpers --------------------------------------------------------------------------------


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of ``values`` (need not be sorted)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = min(len(ordered), max(1, math.ceil(pct / 100 * len(ordered))))
    return ordered[rank - 1]


async def timed_sequence(count: int, op: Callable[[int], Awaitable[object]]) -> tuple[float, list[float]]:
    """Run ``op(0..count-1)`` one after another; returns (wall seconds, per-call seconds)."""
    latencies: list[float] = []
    started = time.perf_counter()
    for i in range(count):
        t0 = time.perf_counter()
        await op(i)
        latencies.append(time.perf_counter() - t0)
    return time.perf_counter() - started, latencies


async def timed_concurrent(count: int, concurrency: int, op: Callable[[int], Awaitable[object]]) -> float:
    """Run ``op(0..count-1)`` from ``concurrency`` tasks sharing one counter; returns wall seconds."""
    numbers = iter(range(count))

    async def worker() -> None:
        for i in numbers:
            await op(i)

    started = time.perf_counter()
    async with asyncio.TaskGroup() as tg:
        for _ in range(concurrency):
            tg.create_task(worker())
    return time.perf_counter() - started


def ms(seconds: float) -> float:
    return seconds * 1000.0


# -- one run ------------------------------------------------------------------------------------


@dataclass
class Settings:
    objects: int
    gets: int
    patches: int
    lists: int
    typed_lists: int
    watch_events: int
    watch_warmup: int
    gc_freeze: bool


class Client:
    """The kubernetes_asyncio APIs one run uses, all on one ApiClient."""

    def __init__(self, api: client.ApiClient) -> None:
        from kubernetes_asyncio import client

        self.api = api
        self.custom = client.CustomObjectsApi(api)
        self.core = client.CoreV1Api(api)

    async def get_hot(self, _: int = 0) -> object:
        return await self.custom.get_namespaced_custom_object(GROUP, VERSION, HOT_NS, PLURAL, HOT_NAME)

    async def patch_hot(self, i: int) -> dict[str, Any]:
        body = {"metadata": {"annotations": {"bench/seq": str(i), "bench/sent": repr(time.perf_counter())}}}
        result: dict[str, Any] = await self.custom.patch_namespaced_custom_object(
            GROUP, VERSION, HOT_NS, PLURAL, HOT_NAME, body,
            _content_type=MERGE,  # type: ignore[call-arg]  # the stubs leave out the generic _ options
        )
        return result

    async def server_requests(self, **query: str) -> dict[str, Any]:
        """The emulator's admin view of its request log (admin calls are not logged themselves).

        Ask with ``limit="1"`` for the total only: ``limit=0`` answers with every record.
        """
        result: dict[str, Any] = await self.api.call_api(
            "/_emulator/requests", "GET", query_params=list(query.items()), auth_settings=["BearerToken"],
            response_types_map={200: "object"}, _return_http_data_only=True)
        return result


class Run:
    """One run against one fresh server: the client, the CPU/GC probes and the figures collected."""

    def __init__(
        self, c: Client, target: Target, settings: Settings, monitor: GcMonitor, open_fresh: ServerFactory
    ) -> None:
        self.c = c
        self.target = target
        self.s = settings
        self.monitor = monitor
        self.open_fresh = open_fresh
        self.out: dict[str, float] = {}

    @contextlib.asynccontextmanager
    async def cpu(self, name: str, requests: int) -> AsyncIterator[None]:
        """Record CPU microseconds per request spent by the server and by the client in the block."""
        server0, client0 = await self.target.server_stats(False), self.monitor.snapshot()
        yield
        server1, client1 = await self.target.server_stats(False), self.monitor.snapshot()
        if self.target.separate:
            self.out[f"{name}_server_cpu_us"] = (server1["cpu"] - server0["cpu"]) / requests * 1e6
            self.out[f"{name}_client_cpu_us"] = (client1["cpu"] - client0["cpu"]) / requests * 1e6
        else:
            self.out[f"{name}_cpu_us"] = (client1["cpu"] - client0["cpu"]) / requests * 1e6

    async def get(self) -> None:
        s, out = self.s, self.out
        async with self.cpu("get_seq", s.gets):
            wall, lat = await timed_sequence(s.gets, self.c.get_hot)
        out["get_seq_rps"] = s.gets / wall
        out["get_seq_p50_ms"] = ms(percentile(lat, 50))
        out["get_seq_p99_ms"] = ms(percentile(lat, 99))
        async with self.cpu("get_conc", 2 * s.gets):
            wall = await timed_concurrent(2 * s.gets, CONCURRENCY, self.c.get_hot)
        out["get_conc_rps"] = 2 * s.gets / wall

    async def patch(self) -> None:
        s, out = self.s, self.out
        async with self.cpu("patch_seq", s.patches):
            wall, lat = await timed_sequence(s.patches, self.c.patch_hot)
        out["patch_seq_rps"] = s.patches / wall
        out["patch_seq_p50_ms"] = ms(percentile(lat, 50))
        out["patch_seq_p99_ms"] = ms(percentile(lat, 99))

    async def list(self) -> None:
        c, s, out = self.c, self.s, self.out

        async def custom_list() -> int:
            result = await c.custom.list_namespaced_custom_object(GROUP, VERSION, LIST_NS, PLURAL)
            return len(result["items"])

        async def raw_list() -> int:
            # _preload_content=False hands back the aiohttp response: no model building.
            response: Any = await c.core.list_namespaced_config_map(LIST_NS, _preload_content=False)
            try:
                body = await response.read()
            finally:
                response.release()
            out["list_raw_bytes"] = float(len(body))
            return len(json.loads(body)["items"])

        async def typed_list() -> int:
            result = await c.core.list_namespaced_config_map(LIST_NS)
            return len(result.items)

        kinds: tuple[tuple[str, Callable[[], Awaitable[int]], int, str], ...] = (
            ("list_custom", custom_list, s.lists, PLURAL),
            ("list_raw", raw_list, s.lists, "configmaps"),
            ("list_typed", typed_list, s.typed_lists, "configmaps"),
        )
        for key, op, repeats, resource in kinds:
            if repeats <= 0:
                continue
            count = await op()  # warm-up, and a sanity check
            if count != s.objects:
                raise RuntimeError(f"{key}: listed {count} objects, expected {s.objects}")
            latencies = []
            async with self.cpu(key, repeats):
                for _ in range(repeats):
                    t0 = time.perf_counter()
                    await op()
                    latencies.append(time.perf_counter() - t0)
            out[f"{key}_p50_ms"] = ms(percentile(latencies, 50))
            out[f"{key}_p99_ms"] = ms(percentile(latencies, 99))
            log = await c.server_requests(verb="list", resource=resource, limit=str(repeats))
            server_ms = [float(r["duration_ms"]) for r in log["items"]]
            out[f"{key}_server_p50_ms"] = percentile(server_ms, 50)
            out[f"{key}_server_p99_ms"] = percentile(server_ms, 99)

    async def watch(self) -> None:
        """Closed loop: patch (send time in an annotation), wait for its MODIFIED event, repeat."""
        from hdrh.histogram import HdrHistogram
        from kubernetes_asyncio import watch

        c, s, out = self.c, self.s, self.out
        initial = await c.custom.list_namespaced_custom_object(GROUP, VERSION, HOT_NS, PLURAL)
        arrivals: asyncio.Queue[tuple[int, float]] = asyncio.Queue()
        ready = asyncio.Event()

        async def consume() -> None:
            async with watch.Watch() as w:
                stream = w.stream(c.custom.list_namespaced_custom_object, GROUP, VERSION, HOT_NS, PLURAL,
                                  resource_version=initial["metadata"]["resourceVersion"], timeout_seconds=900)
                ready.set()
                async for event in stream:
                    received = time.perf_counter()
                    if event["type"] != "MODIFIED":
                        continue
                    annotations = event["raw_object"]["metadata"]["annotations"]
                    arrivals.put_nowait((int(annotations["bench/seq"]),
                                         received - float(annotations["bench/sent"])))

        histogram = HdrHistogram(1, 60_000_000, 3)  # microseconds, 1 us .. 60 s
        async with asyncio.TaskGroup() as tg:
            consumer = tg.create_task(consume())
            await ready.wait()
            try:
                async with self.cpu("watch", s.watch_warmup + s.watch_events):
                    for i in range(-s.watch_warmup, s.watch_events):
                        await c.patch_hot(i)
                        async with asyncio.timeout(10):
                            seq, latency = await arrivals.get()
                        if seq != i:
                            raise RuntimeError(f"watch event out of order: expected {i}, got {seq}")
                        if i >= 0:
                            histogram.record_value(max(1, round(latency * 1e6)))
            finally:
                consumer.cancel()
        for pct in (50, 90, 99):
            out[f"watch_p{pct}_ms"] = histogram.get_value_at_percentile(pct) / 1000
        out["watch_max_ms"] = histogram.get_max_value() / 1000
        out["watch_events"] = float(histogram.get_total_count())

    async def fill_to(self, served: int) -> int:
        """Mixed GET and PATCH traffic (8 tasks) until the server has served at least ``served`` requests."""
        c = self.c

        async def op(i: int) -> object:
            return await (c.patch_hot(i) if i % 4 == 0 else c.get_hot())

        while True:
            total = int((await c.server_requests(limit="1"))["total"])
            if total >= served:
                return total
            await timed_concurrent(served - total, CONCURRENCY, op)

    async def growth(self) -> None:
        """Sequential GETs: the first 1,000 of a fresh server against 1,000 of this one after >= 20,000.

        The two are interleaved in slices of 100, alternating which goes first, so that the
        machine's drift (other load, CPU frequency) hits both sides alike.
        """
        out = self.out
        sums = {name: {"wall": 0.0, "server_cpu": 0.0, "client_cpu": 0.0} for name in ("first", "late")}
        async with self.open_fresh() as fresh_target, connect(fresh_target) as fresh:
            await timed_sequence(WARMUP_REQUESTS, fresh.get_hot)
            sides = {"first": (fresh, fresh_target), "late": (self.c, self.target)}
            per_slice = GROWTH_WINDOW // GROWTH_SLICES
            for i in range(GROWTH_SLICES):
                for name in ("first", "late") if i % 2 == 0 else ("late", "first"):
                    c, target = sides[name]
                    server0, client0 = await target.server_stats(False), self.monitor.snapshot()
                    wall, _ = await timed_sequence(per_slice, c.get_hot)
                    server1, client1 = await target.server_stats(False), self.monitor.snapshot()
                    sums[name]["wall"] += wall
                    sums[name]["server_cpu"] += server1["cpu"] - server0["cpu"]
                    sums[name]["client_cpu"] += client1["cpu"] - client0["cpu"]
            requests = per_slice * GROWTH_SLICES
            out["growth_fresh_served"] = float((await fresh.server_requests(limit="1"))["total"])
        for name, total in sums.items():
            out[f"growth_{name}_rps"] = requests / total["wall"]
            if self.target.separate:
                out[f"growth_{name}_server_cpu_us"] = total["server_cpu"] / requests * 1e6
                out[f"growth_{name}_client_cpu_us"] = total["client_cpu"] / requests * 1e6
            else:
                out[f"growth_{name}_cpu_us"] = total["client_cpu"] / requests * 1e6
        out["growth_ratio"] = out["growth_late_rps"] / out["growth_first_rps"]
        if self.target.separate:
            out["growth_server_cpu_ratio"] = out["growth_late_server_cpu_us"] / out["growth_first_server_cpu_us"]
        else:
            out["growth_cpu_ratio"] = out["growth_late_cpu_us"] / out["growth_first_cpu_us"]

    async def all(self) -> dict[str, float]:
        out = self.out
        server0, client0 = await self.target.server_stats(False), self.monitor.snapshot()
        await timed_sequence(WARMUP_REQUESTS, self.c.get_hot)
        await self.get()
        await self.patch()
        await self.list()
        await self.watch()
        out["growth_served_before_late"] = float(await self.fill_to(GROWTH_AFTER))
        server1, client1 = await self.target.server_stats(True), self.monitor.snapshot(tracked=True)
        sides = [("server", server0, server1), ("client", client0, client1)] if self.target.separate else [
            ("process", client0, client1)]
        for side, before, after in sides:
            out[f"{side}_gen2_collections"] = after["gen2"] - before["gen2"]
            out[f"{side}_gc_pause_total_ms"] = ms(after["gc_total"] - before["gc_total"])
            out[f"{side}_gc_pause_max_ms"] = ms(after["gc_max"])
            out[f"{side}_gen2_tracked_objects"] = after["tracked"]
        await self.growth()
        out["server_requests_total"] = float((await self.c.server_requests(limit="1"))["total"])
        return out


@contextlib.asynccontextmanager
async def connect(target: Target) -> AsyncIterator[Client]:
    """A kubernetes_asyncio client for the target, from a kubeconfig file as users would write it."""
    from kubernetes_asyncio import config

    with tempfile.TemporaryDirectory(prefix="asyncswitch-bench-") as tmp:
        path = write_kubeconfig(Path(tmp) / "kubeconfig", target.kubeconfig)
        api = await config.new_client_from_config(config_file=str(path), context=CONTEXT, persist_config=False)
    async with api:
        yield Client(api)


async def one_run(target: Target, s: Settings, monitor: GcMonitor, open_fresh: ServerFactory) -> dict[str, float]:
    async with connect(target) as c:
        if s.gc_freeze and target.separate:
            gc.collect()
            gc.freeze()
        return await Run(c, target, s, monitor, open_fresh).all()


async def run_mode(mode: str, runs: int, s: Settings, profile_dir: Path | None) -> list[dict[str, float]]:
    results = []
    for n in range(1, runs + 1):
        started = time.perf_counter()
        profile_out = str(profile_dir / f"{mode}-run{n}.prof") if profile_dir else None
        monitor = GcMonitor().install()
        try:
            if mode == "server-process":
                fresh_profile = str(profile_dir / f"{mode}-run{n}-fresh.prof") if profile_dir else None
                fresh: ServerFactory = functools.partial(server_in_subprocess, s.objects, fresh_profile, s.gc_freeze)
                async with server_in_subprocess(s.objects, profile_out, s.gc_freeze) as target:
                    result = await one_run(target, s, monitor, fresh)
            else:
                fresh = functools.partial(server_in_process, s.objects, monitor, s.gc_freeze)
                profiler = cProfile.Profile() if profile_out else None
                if profiler is not None:
                    profiler.enable()
                async with server_in_process(s.objects, monitor, s.gc_freeze) as target:
                    result = await one_run(target, s, monitor, fresh)
                if profiler is not None and profile_out:
                    profiler.disable()
                    profiler.dump_stats(profile_out)
        finally:
            monitor.uninstall()
            if s.gc_freeze:
                gc.unfreeze()
        result["run_seconds"] = time.perf_counter() - started
        results.append(result)
        print(f"  {mode} run {n}/{runs}: {result['run_seconds']:.1f} s; GET {result['get_seq_rps']:.0f}/s, "
              f"PATCH {result['patch_seq_rps']:.0f}/s, list(custom) p50 {result.get('list_custom_p50_ms', 0):.1f} ms,"
              f" watch p99 {result['watch_p99_ms']:.2f} ms, growth ratio {result['growth_ratio']:.2f}",
              file=sys.stderr, flush=True)
    return results


# -- reporting ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    unit: str
    target: str = ""
    meets: Callable[[float], bool] | None = field(default=None, compare=False)


def cpu_rows(name: str, per: str = "request") -> tuple[Row, ...]:
    return (
        Row(f"{name}_server_cpu_us", f"  server CPU per {per}", "us"),
        Row(f"{name}_client_cpu_us", f"  client CPU per {per}", "us"),
        Row(f"{name}_cpu_us", f"  CPU per {per} (client + server)", "us"),
    )


LIST_MEETS = (f"<= {TARGET_LIST_MS:.0f}", lambda v: v <= TARGET_LIST_MS)
ROWS = (
    Row("get_seq_rps", "GET one object, sequential", "req/s"),
    Row("get_seq_p50_ms", "  latency p50", "ms"),
    Row("get_seq_p99_ms", "  latency p99", "ms"),
    *cpu_rows("get_seq"),
    Row("get_conc_rps", f"GET one object, {CONCURRENCY} concurrent tasks", "req/s"),
    *cpu_rows("get_conc"),
    Row("patch_seq_rps", "merge-PATCH, sequential", "req/s"),
    Row("patch_seq_p50_ms", "  latency p50", "ms"),
    Row("patch_seq_p99_ms", "  latency p99", "ms"),
    *cpu_rows("patch_seq"),
    Row("list_custom_p50_ms", "LIST {n} custom objects (dicts) p50", "ms", *LIST_MEETS),
    Row("list_custom_p99_ms", "  p99", "ms", *LIST_MEETS),
    Row("list_custom_server_p50_ms", "  server handler p50", "ms"),
    Row("list_custom_server_p99_ms", "  server handler p99", "ms"),
    *cpu_rows("list_custom", "list"),
    Row("list_raw_p50_ms", "LIST {n} ConfigMaps, raw JSON p50", "ms", *LIST_MEETS),
    Row("list_raw_p99_ms", "  p99", "ms", *LIST_MEETS),
    Row("list_raw_server_p50_ms", "  server handler p50", "ms"),
    Row("list_raw_server_p99_ms", "  server handler p99", "ms"),
    Row("list_raw_bytes", "  response size", "bytes"),
    Row("list_typed_p50_ms", "LIST {n} ConfigMaps, typed V1ConfigMapList p50", "ms"),
    Row("list_typed_p99_ms", "  p99", "ms"),
    *cpu_rows("list_typed", "list"),
    Row("watch_p50_ms", "watch: patch -> event p50", "ms"),
    Row("watch_p90_ms", "  p90", "ms"),
    Row("watch_p99_ms", "  p99", "ms", f"<= {TARGET_WATCH_P99_MS:.0f}", lambda v: v <= TARGET_WATCH_P99_MS),
    Row("watch_max_ms", "  max", "ms"),
    *cpu_rows("watch", "patch + event"),
    Row("growth_first_rps", f"GET/s, first {GROWTH_WINDOW:,} requests (fresh server)", "req/s"),
    Row("growth_late_rps", f"GET/s, {GROWTH_WINDOW:,} after >= {GROWTH_AFTER:,} (interleaved)", "req/s"),
    Row("growth_ratio", "  ratio late / first", "x", ">= ~0.9", lambda v: v >= 0.9),
    Row("growth_server_cpu_ratio", "  server CPU per request, ratio late / first", "x", "<= ~1.1",
        lambda v: v <= 1.1),
    Row("growth_cpu_ratio", "  CPU per request (client + server), late / first", "x", "<= ~1.1",
        lambda v: v <= 1.1),
    *cpu_rows("growth_first", "request, first"),
    *cpu_rows("growth_late", "request, late"),
    *(row for side in ("server", "client", "process") for row in (
        Row(f"{side}_gen2_collections", f"{side}: full (gen 2) GCs per run", "n"),
        Row(f"{side}_gc_pause_total_ms", f"  {side}: GC pauses, total per run", "ms"),
        Row(f"{side}_gc_pause_max_ms", f"  {side}: longest GC pause", "ms"),
        Row(f"{side}_gen2_tracked_objects", f"  {side}: objects in the oldest GC generation", "n"),
    )),
)


def summarise(results: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    keys = sorted({k for r in results for k in r})
    summary = {}
    for key in keys:
        values = [r[key] for r in results if key in r]
        median = statistics.median(values)
        summary[key] = {
            "median": median, "min": min(values), "max": max(values),
            "spread_pct": (max(values) - min(values)) / median * 100 if median else 0.0,
            "runs": len(values),
        }
    return summary


def fmt(value: float) -> str:
    if value != value:  # nan
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def render_table(mode: str, summary: dict[str, dict[str, float]], objects: int) -> str:
    header = ("metric", "unit", "median", "min", "max", "spread", "target", "")
    lines: list[tuple[str, ...]] = []
    for row in ROWS:
        stat = summary.get(row.key)
        if stat is None:
            continue
        verdict = ""
        if row.meets is not None:
            verdict = "ok" if row.meets(stat["median"]) else "MISSED"
        lines.append((row.label.format(n=f"{objects:,}"), row.unit, fmt(stat["median"]), fmt(stat["min"]),
                      fmt(stat["max"]), f"{stat['spread_pct']:.0f}%", row.target, verdict))
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(len(header))]
    out = [f"== {mode} ({int(next(iter(summary.values()))['runs'])} runs; median, min-max over runs)"]
    for n, line in enumerate([header, *lines]):
        out.append("  ".join(cell.ljust(w) if i < 2 or i > 5 else cell.rjust(w)
                             for i, (cell, w) in enumerate(zip(line, widths, strict=True))).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def machine() -> dict[str, Any]:
    return {
        "nproc": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "kubernetes_asyncio": package_version("kubernetes_asyncio"),
        "aiohttp": package_version("aiohttp"),
        "loadavg_at_start": list(os.getloadavg()),
        "source": _source_version(),
    }


def _source_version() -> str:
    """The commit measured, and whether the emulator's sources differ from it."""
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "asyncswitch"], cwd=root,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head} (asyncswitch/ modified)" if dirty else head


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


# -- command line ---------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5, help="fresh servers to measure, one after another (5)")
    parser.add_argument("--objects", type=int, default=5000, help="objects of each kind to LIST (5000)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--server-process", dest="mode", action="store_const", const="server-process",
                       help="server in its own process (spawn), the default")
    where.add_argument("--in-process", dest="mode", action="store_const", const="in-process",
                       help="server on the client's event loop")
    where.add_argument("--both", dest="mode", action="store_const", const="both", help="one after the other")
    parser.set_defaults(mode="server-process")
    parser.add_argument("--gets", type=int, default=2000, help="sequential GETs per run (twice as many concurrent)")
    parser.add_argument("--patches", type=int, default=2000, help="sequential merge-PATCHes per run")
    parser.add_argument("--lists", type=int, default=20, help="LISTs per run, per list kind")
    parser.add_argument("--typed-lists", type=int, default=5, help="typed V1ConfigMapList LISTs per run (slow)")
    parser.add_argument("--watch-events", type=int, default=2000, help="measured watch events per run")
    parser.add_argument("--gc-freeze", action="store_true",
                        help="experiment: gc.freeze() after the preload (server) and after connecting (client), "
                             "to show how much of the tail latency is garbage collection")
    parser.add_argument("--json", type=Path, metavar="OUT", help="write every run and the summary here")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="cProfile the server (server-process mode) or the whole run (in-process) into DIR")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.objects < 1 or args.watch_events < 1:
        parser.error("--runs, --objects and --watch-events must be positive")
    return args


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    settings = Settings(objects=args.objects, gets=args.gets, patches=args.patches, lists=args.lists,
                        typed_lists=args.typed_lists, watch_events=args.watch_events, watch_warmup=50,
                        gc_freeze=args.gc_freeze)
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    modes = ["server-process", "in-process"] if args.mode == "both" else [args.mode]
    report: dict[str, Any] = {
        "machine": machine(),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "settings": {**settings.__dict__, "runs": args.runs, "concurrency": CONCURRENCY,
                     "growth_window": GROWTH_WINDOW, "growth_after": GROWTH_AFTER},
        "targets": {"watch_p99_ms": TARGET_WATCH_P99_MS, "list_ms": TARGET_LIST_MS},
        "modes": {},
    }
    started = time.perf_counter()
    for mode in modes:
        results = await run_mode(mode, args.runs, settings, args.profile)
        report["modes"][mode] = {"runs": results, "summary": summarise(results)}
    report["machine"]["loadavg_at_end"] = list(os.getloadavg())
    report["total_seconds"] = time.perf_counter() - started
    return report


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    report = asyncio.run(main_async(args))
    m = report["machine"]
    print(f"machine: {m['nproc']} CPUs ({m['cpu']}), Python {m['python']}, kubernetes_asyncio "
          f"{m['kubernetes_asyncio']}, aiohttp {m['aiohttp']}; load average "
          f"{m['loadavg_at_start'][0]:.2f} at start, {m['loadavg_at_end'][0]:.2f} at end")
    for mode, data in report["modes"].items():
        print()
        print(render_table(mode, data["summary"], args.objects))
    print(f"\ntotal {report['total_seconds']:.0f} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
