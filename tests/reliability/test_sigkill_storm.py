"""30 seeded SIGKILLs, aimed at cycle boundaries (just after a commit), at each phase of the pipeline and at
random moments, each followed by ``run --resume``: the run finishes, every cycle is counted exactly once
(run state, metrics.jsonl and summary agree), nothing is left half-written, and the hubs pass the
invariant check.

The hubs are a ``sim`` child process, so they outlive each killed run, as real hubs do."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from asyncswitch import check_invariants
from asyncswitch.kube import Hub

from ..engine.support import of_type, only_run_dir, read_json, records
from .support import served_pair

KILLS = 30
CYCLES = 40
PHASES = ("preflight", "primary_preparation", "activation", "post_activation_verification", "finalization")


def _json(path: Path) -> dict[str, Any] | None:
    try:
        loaded: dict[str, Any] = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return loaded


def _committed(output: Path) -> int:
    state = next((_json(p) for p in output.glob("run-*/run_state.json")), None)
    return int(state["next_cycle"]) - 1 if state else 0


def _phase(output: Path) -> str | None:
    state = next((_json(p) for p in output.glob("run-*/run_state.json")), None)
    if not state or not state.get("in_flight"):
        return None
    cycle = _json(next(output.glob("run-*")) / "cycles" / state["in_flight"] / "state.json")
    return str(cycle.get("phase")) if cycle else None


async def _kill_when(process: asyncio.subprocess.Process, ready: Any, *, after: float = 0.0,
                     limit: float = 30.0) -> bool:
    """SIGKILL the process once ``ready()`` holds (then ``after`` more seconds); False if it ended first."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while process.returncode is None and not ready():
        if loop.time() > deadline:
            raise AssertionError("the kill's moment never came")
        await asyncio.sleep(0.005)
    if process.returncode is not None:
        return False
    await asyncio.sleep(after)
    if process.returncode is not None:
        return False
    process.send_signal(signal.SIGKILL)
    await process.wait()
    return True


async def test_thirty_seeded_kills_then_resumes_count_every_cycle_exactly_once(tmp_path: Path) -> None:
    rng = random.Random(12)
    output = tmp_path / "runs"
    with served_pair(tmp_path, "--profile", "instant", "--clusters", "3", "--seed", "5") as hubs:
        first = ["run", "--kubeconfig", str(hubs.kubeconfig), "--primary-context", "hub-a", "--secondary-context",
                 "hub-b", "--cycles", str(CYCLES), "--compactor-watch", "0", "--no-progress", "--output-dir",
                 str(output)]
        kills: list[str] = []
        args = first
        while len(kills) < KILLS:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "asyncswitch", *args, cwd=tmp_path,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
            aim = rng.choice(("boundary", "phase", "moment"))
            if aim == "boundary":  # just after a cycle's commit, before or while its end is published
                done = _committed(output)
                killed = await _kill_when(process, lambda done=done: _committed(output) > done,
                                          after=rng.uniform(0.0, 0.02))
                where = f"boundary after cycle {done + 1}"
            elif aim == "phase":
                phase = rng.choice(PHASES)
                killed = await _kill_when(process, lambda phase=phase: _phase(output) == phase,
                                          after=rng.uniform(0.0, 0.05))
                where = f"in {phase}"
            else:
                delay = rng.uniform(0.3, 2.0)
                killed = await _kill_when(process, lambda: True, after=delay)
                where = f"{delay:.2f} s after start"
            assert killed, f"the run ended before kill {len(kills) + 1} ({where})"
            kills.append(where)
            if run_dirs := list(output.glob("run-*")):
                args = ["run", "--resume", str(run_dirs[0]), "--no-progress"]

        final = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "asyncswitch", *args, cwd=tmp_path,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        _, err = await asyncio.wait_for(final.communicate(), timeout=120)
        assert final.returncode == 0, err.decode()[-2000:]

        async with Hub.connect(hubs.kubeconfig, "hub-a") as hub_a, Hub.connect(hubs.kubeconfig, "hub-b") as hub_b:
            report = await check_invariants({"hub-a": hub_a, "hub-b": hub_b})
        assert report.ok, report.findings()

    run_dir = only_run_dir(output)
    ids = [f"cycle-{n:04d}" for n in range(1, CYCLES + 1)]
    ends = Counter(r["cycle_id"] for r in of_type(records(run_dir), "cycle_end"))
    assert ends == Counter(ids), f"cycle_end records not once each after kills {kills}"
    state = read_json(run_dir / "run_state.json")
    assert [c["cycle_id"] for c in state["committed"]["cycles"]] == ids
    summary = read_json(run_dir / "summary.json")
    assert (summary["cycles"], state["successes"], state["failures"]) == (CYCLES, CYCLES, 0)
    assert [c["cycle_id"] for c in summary["cycle_results"]] == ids
    whole = sum(1 for c in state["committed"]["cycles"] if not c.get("resumed"))
    assert summary["cycle_ms"]["count"] == whole
    assert not [p for p in run_dir.rglob(".*") if p.name != ".lock"]
