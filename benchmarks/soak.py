"""Memory over a long soak: the engine's and the simulator's RSS after every cycle, and the artifacts'
size, over hundreds of switchover cycles on the instant profile.

    .venv/bin/python benchmarks/soak.py [--cycles 500] [--clusters 20] [--json OUT] [--update-doc]

``python -m asyncswitch sim --clusters N --profile instant`` runs in its own process; a fresh engine
process runs ``Engine(RunConfig(..., cycles=C, gc_between_cycles=True))`` through the library API (as
``python -m asyncswitch run`` does, with its default artifacts) and, at every cycle_end, samples its own
RSS (/proc/self/statm), the simulator's (/proc/<pid>/statm) and the size of metrics.jsonl.

Printed: RSS at a few cycles and the growth after cycle 50, ``(RSS at the last cycle - RSS at cycle 50)
/ RSS at cycle 50``, for each process. ``--update-doc`` writes the same table into docs/performance.md
between the ``soak:begin`` and ``soak:end`` markers.

Nothing here is a pass/fail test; read the curve.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# engine.py, beside this file: how the benchmarks start and stop the simulator in its own process.
from engine import _start_sim, _stop

DOC = Path(__file__).resolve().parents[1] / "docs" / "performance.md"
BEGIN, END = "<!-- soak:begin -->", "<!-- soak:end -->"


def _rss_mib(pid: int | str = "self") -> float:
    with open(f"/proc/{pid}/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


async def _engine_run(kubeconfig: Path, cycles: int, output_dir: Path, sim_pid: int) -> dict[str, Any]:
    from asyncswitch.config import RunConfig
    from asyncswitch.runner import Engine
    from asyncswitch.switchover import Timeouts

    # The instant profile has no simulated time: the watch for a second compactor lasts no real time
    # (as the embedded pair makes it, SimulatedHubPair.real_seconds).
    config = RunConfig(kubeconfig=kubeconfig, primary_context="hub-a", secondary_context="hub-b", cycles=cycles,
                       output_dir=output_dir, progress=False, gc_between_cycles=True,
                       timeouts=Timeouts(compactor_watch=0.0))
    samples: list[dict[str, Any]] = []
    started = time.monotonic()

    def measure(engine: Engine, cycle: Any, success: Any) -> dict[str, Any]:
        metrics = engine.run_dir / "metrics.jsonl"
        return {"cycle": cycle, "success": success, "engine_rss_mib": _rss_mib(), "sim_rss_mib": _rss_mib(sim_pid),
                "metrics_bytes": metrics.stat().st_size if metrics.exists() else 0,
                "elapsed_s": time.monotonic() - started}

    async def sample(engine: Engine) -> None:
        async with contextlib.aclosing(engine.events(("cycle_end",))) as events:
            samples.extend([measure(engine, event.data.get("cycle"), event.data.get("success"))
                            async for event in events])

    async with asyncio.TaskGroup() as tg, Engine(config) as engine:
        tg.create_task(sample(engine))
        result = await engine.run()
    return {"successes": result.successes, "cycles": result.cycles, "samples": samples,
            "run_dir_bytes": sum(p.stat().st_size for p in result.run_dir.rglob("*") if p.is_file())}


def soak(cycles: int, clusters: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="asyncswitch-soak-") as tmp:
        kubeconfig = Path(tmp) / "sim.kubeconfig"
        sim, _ = _start_sim(clusters, kubeconfig, profile="instant")
        try:
            out = subprocess.run([sys.executable, __file__, "--one", "--kubeconfig", str(kubeconfig),
                                  "--cycles", str(cycles), "--output-dir", str(Path(tmp) / "runs"),
                                  "--sim-pid", str(sim.pid)], check=True, capture_output=True, text=True)
        finally:
            _stop(sim)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def table(result: dict[str, Any], clusters: int) -> str:
    samples = result["samples"]
    by_cycle = {s["cycle"]: s for s in samples}
    last = samples[-1]["cycle"]
    marks = [c for c in (1, 10, 50, 100, 200, 300, 400, 500, last) if c in by_cycle]
    marks = sorted(set(marks))
    lines = [f"| cycle | {' | '.join(str(c) for c in marks)} |", "|---|" + "---|" * len(marks)]
    for key, label in (("engine_rss_mib", "engine RSS (MiB)"), ("sim_rss_mib", "simulator RSS (MiB)")):
        lines.append(f"| {label} | " + " | ".join(f"{by_cycle[c][key]:.1f}" for c in marks) + " |")
    lines.append("| metrics.jsonl (MB) | " + " | ".join(f"{by_cycle[c]['metrics_bytes'] / 1e6:.2f}" for c in marks)
                 + " |")
    lines.append("| elapsed (s) | " + " | ".join(f"{by_cycle[c]['elapsed_s']:.0f}" for c in marks) + " |")
    base = by_cycle.get(50) or samples[0]
    growth = {key: (samples[-1][key] - base[key]) / base[key] for key in ("engine_rss_mib", "sim_rss_mib")}
    per_cycle = (samples[-1]["metrics_bytes"] - base["metrics_bytes"]) / max(1, last - base["cycle"])
    lines += ["", f"{result['successes']}/{result['cycles']} cycles succeeded, {clusters} clusters, instant profile. "
              f"Growth after cycle {base['cycle']}: engine {100 * growth['engine_rss_mib']:+.1f} %, simulator "
              f"{100 * growth['sim_rss_mib']:+.1f} %; metrics.jsonl {per_cycle / 1000:.1f} KB per cycle; whole run "
              f"directory {result['run_dir_bytes'] / 1e6:.1f} MB."]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cycles", type=int, default=500)
    parser.add_argument("--clusters", type=int, default=20)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--update-doc", action="store_true", help=f"write the table into {DOC}")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--kubeconfig", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--output-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--sim-pid", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(asyncio.run(_engine_run(args.kubeconfig, args.cycles, args.output_dir, args.sim_pid))))
        return 0
    load = os.getloadavg()[0]
    result = soak(args.cycles, args.clusters)
    text = table(result, args.clusters)
    print(f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}, load average {load:.2f} "
          f"before, {os.getloadavg()[0]:.2f} after")
    print(text)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    if args.update_doc:
        doc = DOC.read_text()
        start, end = doc.index(BEGIN) + len(BEGIN), doc.index(END)
        DOC.write_text(doc[:start] + "\n" + text + "\n" + doc[end:])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
