"""The cycle engine's own cost: CPU seconds per switchover cycle, peak RSS, and how soon its monitors
see a change the hub has made, at a given fleet size, with the simulated hubs in a process of their own.

    .venv/bin/python benchmarks/engine.py [--sizes 20,500,3500] [--runs 3] [--runs-3500 1]
                                          [--cycles 3] [--cycles-3500 2] [--json OUT]

For each size and run:

1. ``python -m asyncswitch sim --clusters N --profile fast --kubeconfig-out F`` starts (its own
   process; ready when it prints "serving");
2. a fresh engine process (this script with ``--one``) runs ``Engine(RunConfig(kubeconfig=F,
   primary_context="hub-a", secondary_context="hub-b", cycles=C))`` through the library API. A task
   subscribed to the engine's events samples ``time.process_time()`` at every cycle_start/cycle_end
   and phase_start/phase_result, so CPU per cycle and per phase is this process's whole CPU while the
   cycle ran: pipeline, monitors (16 watches), metrics.jsonl writer, HDR collector, TLS and JSON.
   Peak RSS is the process's ``ru_maxrss``, so one process per run keeps it per size;
3. the simulator's CPU over the same window is read from /proc/<pid>/stat, for scale;
4. reaction latency, two ways. From the hub's commit (this script's own): every PATCH the pipeline
   made to a watched object (ManagedClusters, BackupSchedules, ACM Restores) is matched with the
   first watch_event the engine's monitors published for that object at or after the hub committed
   it. The commit time is the request's arrival plus its handling time from the simulator's request
   log (``GET /_emulator/requests``; the log records a request after the store applied it); the
   event's time is the record's ``ts``, taken when the monitor handled the event. Both are wall
   clocks of the same machine. In-run: the run's own ``reaction`` histogram (summary.json), timed
   from sending each write to the watch event of the resourceVersion it made, an upper bound that
   also works against real hubs (asyncswitch/engine/reactions.py).

Since issue 15 the engine process runs as ``python -m asyncswitch run`` does: ``gc.freeze()`` before
the run and ``RunConfig(gc_between_cycles=True)`` (``--library-gc`` leaves the collector alone), and
with ``record_events=True`` so that (4) has watch_event records to match (``--tally``: the default
artifacts, without commit → notice). GC rows: every full collection, and the longest full and any
collection that started inside a cycle. Artifact rows: the run directory's bytes per cycle.

Nothing here is a pass/fail test; the machine is small and shared: read medians.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import bisect
import contextlib
import gc
import json
import os
import platform
import resource
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WATCHED_KINDS = {"managedclusters": "ManagedCluster", "backupschedules": "BackupSchedule", "restores": "Restore"}
"""Resources the pipeline patches whose watch events the monitors publish (plural → record kind)."""


# -- the engine process ---------------------------------------------------------------------------

async def _engine_run(kubeconfig: Path, cycles: int, output_dir: Path, *, record_events: bool,
                      gc_between_cycles: bool) -> dict[str, Any]:
    from asyncswitch.config import RunConfig
    from asyncswitch.runner import Engine
    from asyncswitch.sim.acm import profile_named
    from asyncswitch.switchover import Timeouts

    collections: list[tuple[float, float, int]] = []  # (monotonic start, pause, generation)
    gc_started: list[float] = []

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            gc_started.append(time.monotonic())
        elif gc_started:
            started = gc_started.pop()
            collections.append((started, time.monotonic() - started, info["generation"]))

    gc.callbacks.append(on_gc)
    samples: list[tuple[str, str | None, str | None, float, float]] = []
    # The simulator's observability operator reverts in 1.5 s on the fast profile, not minutes: watch
    # for a second compactor as many simulated seconds as on real hubs (300), not 300 real seconds.
    config = RunConfig(kubeconfig=kubeconfig, primary_context="hub-a", secondary_context="hub-b", cycles=cycles,
                       output_dir=output_dir, progress=False, record_events=record_events,
                       gc_between_cycles=gc_between_cycles,
                       timeouts=Timeouts(compactor_watch=300 / profile_named("fast").speed))
    if gc_between_cycles:
        gc.freeze()  # as python -m asyncswitch run does once its hubs are up: modules live for the run
    cpu0, wall0 = time.process_time(), time.monotonic()
    rss_start = _rss_now_mib()

    where = ["start"]  # the phase running now, for the RSS sampler
    rss_by_phase: dict[str, float] = {}

    def mark(event: Any) -> tuple[str, str | None, str | None, float, float]:
        if event.type == "phase_start":
            where[0] = str(event.data.get("phase"))
        elif event.type == "cycle_end":
            where[0] = "between cycles"
        return (event.type, event.cycle_id, event.data.get("phase"), time.process_time(), time.monotonic())

    async def sample(events: Any) -> None:
        async with contextlib.aclosing(events) as stream:
            samples.extend([mark(event) async for event in stream
                            if event.type in ("cycle_start", "cycle_end", "phase_start", "phase_result")])

    async def sample_rss() -> None:
        while True:
            rss_by_phase[where[0]] = max(rss_by_phase.get(where[0], 0.0), _rss_now_mib())
            await asyncio.sleep(0.2)

    async with asyncio.TaskGroup() as tg, Engine(config) as engine:
        tg.create_task(sample(engine.events()))
        sampler = tg.create_task(sample_rss())
        result = await engine.run()
        sampler.cancel()
    total_cpu, total_wall = time.process_time() - cpu0, time.monotonic() - wall0
    gc.callbacks.remove(on_gc)
    usage = resource.getrusage(resource.RUSAGE_SELF)

    windows: list[tuple[float, float]] = []
    opened: float | None = None
    for kind, _, _, _, wall in samples:
        if kind == "cycle_start":
            opened = wall
        elif kind == "cycle_end" and opened is not None:
            windows.append((opened, wall))
            opened = None

    def in_cycle(at: float) -> bool:
        return any(start <= at <= end for start, end in windows)

    gc_pauses = [pause for _, pause, generation in collections if generation == 2]
    per_cycle: list[dict[str, Any]] = []
    starts: dict[str | None, tuple[float, float]] = {}
    phase_starts: dict[tuple[str | None, str | None], float] = {}
    for kind, cycle_id, phase, cpu, wall in samples:
        if kind == "cycle_start":
            starts[cycle_id] = (cpu, wall)
            per_cycle.append({"cycle_id": cycle_id, "phases_cpu_s": {}})
        elif kind == "phase_start":
            phase_starts[(cycle_id, phase)] = cpu
        elif kind == "phase_result" and (cycle_id, phase) in phase_starts:
            per_cycle[-1]["phases_cpu_s"][phase] = cpu - phase_starts[(cycle_id, phase)]
        elif kind == "cycle_end" and cycle_id in starts:
            per_cycle[-1].update(cpu_s=cpu - starts[cycle_id][0], wall_s=wall - starts[cycle_id][1])
    return {
        "run_dir": str(result.run_dir), "successes": result.successes, "cycles": result.cycles,
        "per_cycle": per_cycle, "total_cpu_s": total_cpu, "total_wall_s": total_wall,
        "user_s": usage.ru_utime, "system_s": usage.ru_stime,
        "rss_before_run_mib": rss_start, "peak_rss_mib": usage.ru_maxrss / 1024, "peak_rss_by_phase_mib": rss_by_phase,
        "full_gcs": len(gc_pauses), "longest_full_gc_ms": 1000 * max(gc_pauses, default=0.0),
        "longest_full_gc_in_cycle_ms": 1000 * max((p for t, p, g in collections if g == 2 and in_cycle(t)),
                                                  default=0.0),
        "longest_gc_in_cycle_ms": 1000 * max((p for t, p, _ in collections if in_cycle(t)), default=0.0),
        "artifact_bytes": _tree_bytes(result.run_dir),
        "metrics_jsonl_bytes": (result.run_dir / "metrics.jsonl").stat().st_size,
        "cpu_window": [wall0, wall0 + total_wall],
    }


def _tree_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _rss_now_mib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


# -- the driver -------------------------------------------------------------------------------------

def _proc_cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start_sim(clusters: int, kubeconfig: Path, *, profile: str = "fast") -> tuple[subprocess.Popen[str], float]:
    started = time.monotonic()
    # Commit -> notice reads every PATCH of a run back from the request log: 60,000 at 10,000 clusters.
    sim = subprocess.Popen([sys.executable, "-m", "asyncswitch", "sim", "--clusters", str(clusters),
                            "--profile", profile, "--kubeconfig-out", str(kubeconfig),
                            "--request-log", str(max(20_000, 20 * clusters))],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                           cwd=Path(__file__).resolve().parents[1])
    assert sim.stdout is not None
    for line in sim.stdout:
        if line.startswith("serving"):
            return sim, time.monotonic() - started
    sim.wait()
    raise RuntimeError(f"the simulator exited with {sim.returncode} before serving")


def _stop(sim: subprocess.Popen[str]) -> None:
    sim.send_signal(signal.SIGINT)
    try:
        sim.wait(timeout=60)
    except subprocess.TimeoutExpired:
        sim.kill()
        sim.wait()


async def _patches(config: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Each hub's successful PATCH requests (newest 100,000) from the simulator's request log."""
    import aiohttp
    clusters = {c["name"]: c["cluster"] for c in config["clusters"]}
    users = {u["name"]: u["user"] for u in config["users"]}
    found: dict[str, list[dict[str, Any]]] = {}
    async with aiohttp.ClientSession() as session:
        for context in config["contexts"]:
            cluster = clusters[context["context"]["cluster"]]
            token = users[context["context"]["user"]]["token"]
            tls = ssl.create_default_context(cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())
            async with session.get(f"{cluster['server']}/_emulator/requests",
                                   params={"verb": "patch", "limit": "300000"}, ssl=tls,
                                   headers={"Authorization": f"Bearer {token}"}) as response:
                response.raise_for_status()
                body = await response.json()
            found[context["name"]] = [r for r in body["items"] if r["status"] < 400 and not r.get("subresource")]
    return found


def _reaction_ms(run_dir: Path, patches: dict[str, list[dict[str, Any]]]) -> list[float]:
    events: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    with (run_dir / "metrics.jsonl").open() as fh:
        for line in fh:
            if '"watch_event"' not in line:
                continue
            record = json.loads(line)
            if record["event"] in ("MODIFIED", "ADDED"):
                events[(record["hub"], record["kind"], record["name"])].append(record["ts"])
    for times in events.values():
        times.sort()
    delays = []
    for hub, records in patches.items():
        for r in records:
            kind = WATCHED_KINDS.get(str(r.get("resource") or "").split(".", 1)[0])
            if kind is None:
                continue
            committed = r["time"] + r["duration_ms"] / 1000
            times = events.get((hub, kind, r["name"]), [])
            i = bisect.bisect_left(times, committed)
            if i < len(times):
                delays.append(1000 * (times[i] - committed))
    return delays


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def one_size_run(clusters: int, cycles: int, *, record_events: bool = True,
                 gc_between_cycles: bool = True) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="asyncswitch-bench-") as tmp:
        kubeconfig = Path(tmp) / "sim.kubeconfig"
        sim, sim_startup = _start_sim(clusters, kubeconfig)
        try:
            sim_cpu0 = _proc_cpu_s(sim.pid)
            out = subprocess.run([sys.executable, __file__, "--one", "--kubeconfig", str(kubeconfig),
                                  "--cycles", str(cycles), "--output-dir", str(Path(tmp) / "runs")]
                                 + ([] if record_events else ["--tally"])
                                 + ([] if gc_between_cycles else ["--library-gc"]),
                                 check=True, capture_output=True, text=True)
            sim_cpu = _proc_cpu_s(sim.pid) - sim_cpu0
            engine = json.loads(out.stdout.strip().splitlines()[-1])
            patches = asyncio.run(_patches(yaml.safe_load(kubeconfig.read_text())))
        finally:
            _stop(sim)
        delays = _reaction_ms(Path(engine["run_dir"]), patches)
        summary = json.loads((Path(engine["run_dir"]) / "summary.json").read_text())
        in_run = summary["reaction_ms"]
        engine["errors"] = [c["error"] for c in summary["cycle_results"] if c.get("error")]
    engine.update(clusters=clusters, sim_startup_s=sim_startup, sim_cpu_s=sim_cpu, reactions=len(delays),
                  reaction_p50_ms=_percentile(delays, 50) if delays else None,
                  reaction_p99_ms=_percentile(delays, 99) if delays else None,
                  reaction_max_ms=max(delays) if delays else None,
                  in_run_reaction=in_run)
    return engine


def _spread(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values):.3f} [{min(values):.3f}-{max(values):.3f}]"


def report(clusters: int, runs: list[dict[str, Any]]) -> None:
    cycles = [c for r in runs for c in r["per_cycle"]]
    later = [c for r in runs for c in r["per_cycle"][1:]]
    print(f"{clusters} clusters: {len(runs)} run(s), {len(cycles)} cycles, "
          f"{sum(r['successes'] for r in runs)} succeeded")
    for error in (e for r in runs for e in r.get("errors", [])):
        print(f"  failed: {error}")
    rows = {
        "engine CPU per cycle (s)": [c["cpu_s"] for c in cycles],
        "  first cycle of a run": [r["per_cycle"][0]["cpu_s"] for r in runs],
        "  later cycles": [c["cpu_s"] for c in later],
        "cycle wall time (s)": [c["wall_s"] for c in cycles],
        "engine CPU / cycle wall": [c["cpu_s"] / c["wall_s"] for c in cycles],
        "sim CPU per cycle (s)": [r["sim_cpu_s"] / len(r["per_cycle"]) for r in runs],
        "engine process CPU total (s)": [r["total_cpu_s"] for r in runs],
        "peak RSS (MiB)": [r["peak_rss_mib"] for r in runs],
        "RSS before the run (MiB)": [r["rss_before_run_mib"] for r in runs],
        "full GCs per run": [float(r["full_gcs"]) for r in runs],
        "longest full GC (ms)": [r["longest_full_gc_ms"] for r in runs],
        "longest full GC in a cycle (ms)": [r.get("longest_full_gc_in_cycle_ms", 0.0) for r in runs],
        "longest GC of any gen in a cycle": [r.get("longest_gc_in_cycle_ms", 0.0) for r in runs],
        "artifacts per cycle (KB)": [r["artifact_bytes"] / 1000 / len(r["per_cycle"]) for r in runs
                                     if "artifact_bytes" in r],
        "metrics.jsonl per cycle (KB)": [r["metrics_jsonl_bytes"] / 1000 / len(r["per_cycle"]) for r in runs
                                         if "metrics_jsonl_bytes" in r],
        "reaction p50 (ms)": [r["reaction_p50_ms"] for r in runs if r["reaction_p50_ms"] is not None],
        "reaction p99 (ms)": [r["reaction_p99_ms"] for r in runs if r["reaction_p99_ms"] is not None],
        "reaction max (ms)": [r["reaction_max_ms"] for r in runs if r["reaction_max_ms"] is not None],
        "reactions measured per run": [float(r["reactions"]) for r in runs],
        "in-run reaction p50 (ms)": [r["in_run_reaction"]["p50"] for r in runs if r["in_run_reaction"]["count"]],
        "in-run reaction p99 (ms)": [r["in_run_reaction"]["p99"] for r in runs if r["in_run_reaction"]["count"]],
        "in-run reactions per run": [float(r["in_run_reaction"]["count"]) for r in runs],
    }
    for name, values in rows.items():
        print(f"  {name:30} {_spread(values)}")
    phases: dict[str, list[float]] = defaultdict(list)
    for c in cycles:
        for phase, cpu in c["phases_cpu_s"].items():
            phases[phase].append(cpu)
    for phase, values in phases.items():
        print(f"  CPU {phase:26} {_spread(values)}")
    by_phase: dict[str, list[float]] = defaultdict(list)
    for r in runs:
        for phase, mib in r.get("peak_rss_by_phase_mib", {}).items():
            by_phase[phase].append(mib)
    for phase, values in by_phase.items():
        print(f"  RSS {phase:26} {_spread(values)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="20,500,3500")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--runs-3500", type=int, default=1, help="runs at 3,500 clusters or more")
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--cycles-3500", type=int, default=2, help="cycles per run at 3,500 clusters or more")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--tally", action="store_true",
                        help="the engine's default artifacts (no per-event records): no commit -> notice figures")
    parser.add_argument("--library-gc", action="store_true",
                        help="leave the collector alone (the library's default), not gc_between_cycles as the CLI")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--kubeconfig", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--output-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(asyncio.run(_engine_run(args.kubeconfig, args.cycles, args.output_dir,
                                                  record_events=not args.tally,
                                                  gc_between_cycles=not args.library_gc))))
        return 0
    print(f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.2f}", flush=True)
    results: dict[str, Any] = {}
    for clusters in (int(s) for s in args.sizes.split(",")):
        big = clusters >= 3500
        runs = [one_size_run(clusters, args.cycles_3500 if big else args.cycles, record_events=not args.tally,
                             gc_between_cycles=not args.library_gc)
                for _ in range(args.runs_3500 if big else args.runs)]
        results[str(clusters)] = runs
        report(clusters, runs)
        print(f"  load average {os.getloadavg()[0]:.2f}", flush=True)
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
