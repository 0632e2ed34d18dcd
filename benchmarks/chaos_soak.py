"""The chaos soak: switchover cycles against a simulated hub pair that misbehaves the whole time, and
what survived it.

    .venv/bin/python benchmarks/chaos_soak.py [--cycles 100] [--clusters 5] [--seed 1] [--write-doc]

Faults, on both hubs for the whole run: 5 % of requests fail with 503 and 5 % with 429, every request
is 30 ms slower, and a chaos task, every 0.5-2 s (seeded), drops every watch of one hub (they resume
from their resourceVersion) and makes the next watches of a random watched kind start with 410 Expired
(they relist). The run is ``Engine(RunConfig(kubeconfig=..., contexts hub-a/hub-b))`` through the
library API (the hubs in this process, instant profile).

Figures:
- cycles passed / failed;
- mutations applied twice: from the hubs' request logs, per cycle, a create answered 2xx for an
  object already created in that cycle and not deleted since, or a delete answered 2xx for one
  already deleted in that cycle;
- unrecorded gaps: 410s the hubs served to a watch (the fault table's expiries that were taken) that
  appear in no monitor's or pipeline watch's recorded gaps (result.json of each cycle).

``--write-doc`` replaces the figures section of docs/reliability.md. The machine is shared: the
figures are counts, not timings.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from asyncswitch import Engine, RunConfig
from asyncswitch.sim.acm import SimConfig, SimulatedHubPair, profile_named
from asyncswitch.sim.faults import FaultRule, RequestRecord
from asyncswitch.switchover import Timeouts

WATCHED_KINDS = ("managedclusters", "restores", "backupschedules", "backups", "deployments", "statefulsets", "pods")
DOC = Path(__file__).resolve().parents[1] / "docs" / "reliability.md"


@dataclass
class SoakResult:
    cycles: int
    passed: int
    failed: int
    applied_twice: list[str] = field(default_factory=list)
    expiries_served: int = 0
    expired_gaps_recorded: int = 0
    gaps_by_reason: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def unrecorded_gaps(self) -> int:
        return max(0, self.expiries_served - self.expired_gaps_recorded)


def applied_twice(records: Iterable[RequestRecord], windows: list[tuple[str, float, float]]) -> list[str]:
    """Creates and deletes the hub applied twice for one object within one cycle (see the module doc)."""
    found: list[str] = []
    ordered = sorted(records, key=lambda r: r.time)
    for cycle_id, start, end in windows:
        exists: dict[tuple[str, str, str], bool] = {}
        for r in ordered:
            if not (start <= r.time <= end) or r.status >= 300 or r.verb not in ("create", "delete") or not r.name:
                continue
            key = (str(r.resource), str(r.namespace or ""), r.name)
            if r.verb == "create":
                if exists.get(key) is True:
                    found.append(f"{cycle_id}: create {'/'.join(key)}")
                exists[key] = True
            else:
                if exists.get(key) is False:
                    found.append(f"{cycle_id}: delete {'/'.join(key)}")
                exists[key] = False
    return found


async def _chaos(pair: SimulatedHubPair, rng: random.Random, expiries: Counter[str], stop: asyncio.Event) -> None:
    servers = (pair.hub_a, pair.hub_b)
    while not stop.is_set():
        try:
            async with asyncio.timeout(rng.uniform(0.5, 2.0)):
                await stop.wait()
        except TimeoutError:
            server = rng.choice(servers)
            kind = rng.choice(WATCHED_KINDS)
            server.faults.expire_next_watches(kind)
            expiries[f"{server.name}/{kind}"] += 1
            server.drop_watches()


async def soak(directory: Path, *, cycles: int, clusters: int = 3, seed: int = 1, latency: float = 0.03,
               error_rate: float = 0.05, retry_after: int | None = 1) -> SoakResult:
    rng = random.Random(seed)
    started = time.monotonic()
    async with SimulatedHubPair(SimConfig(clusters=clusters, profile=profile_named("instant"), seed=seed)) as pair:
        for server in (pair.hub_a, pair.hub_b):
            server.faults.add(FaultRule(error_rate=error_rate, status=503, latency=latency))
            server.faults.add(FaultRule(error_rate=error_rate, status=429, retry_after=retry_after))
        config = RunConfig(kubeconfig=pair.write_kubeconfig(directory / "hubs.kubeconfig"), primary_context="hub-a",
                           secondary_context="hub-b", cycles=cycles, output_dir=directory / "runs", progress=False,
                           seed=seed, timeouts=Timeouts(compactor_watch=0.2))
        expiries: Counter[str] = Counter()
        stop = asyncio.Event()
        chaos = asyncio.create_task(_chaos(pair, rng, expiries, stop))
        try:
            async with Engine(config) as engine:
                result = await engine.run()
        finally:
            stop.set()
            await chaos
        remaining = sum(n for server in (pair.hub_a, pair.hub_b) for n in server.faults._expire_next.values())
        records = [*pair.hub_a.requests.records(), *pair.hub_b.requests.records()]
    run_dir = result.run_dir
    lines = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    starts = {r["cycle_id"]: r["ts"] for r in lines if r["type"] == "cycle_start"}
    ends = {r["cycle_id"]: r["ts"] for r in lines if r["type"] == "cycle_end"}
    windows = [(cycle_id, starts[cycle_id], ends.get(cycle_id, float("inf"))) for cycle_id in sorted(starts)]
    reasons: Counter[str] = Counter()
    for result_file in sorted((run_dir / "cycles").glob("*/result.json")):
        for monitor in json.loads(result_file.read_text()).get("monitors", []):
            reasons.update(gap["reason"] for gap in monitor["gaps"])
    return SoakResult(cycles=result.cycles, passed=result.successes, failed=result.failures,
                      applied_twice=applied_twice(records, windows),
                      expiries_served=sum(expiries.values()) - remaining, expired_gaps_recorded=reasons["expired"],
                      gaps_by_reason=dict(reasons), seconds=time.monotonic() - started)


def _figures(result: SoakResult, command: str) -> str:
    gaps = ", ".join(f"{reason} {count}" for reason, count in sorted(result.gaps_by_reason.items())) or "none"
    return "\n".join([
        "<!-- chaos-soak figures: written by benchmarks/chaos_soak.py --write-doc -->",
        f"Command: `{command}` ({result.seconds:.0f} s on a shared 2-core machine).",
        "",
        "| figure | value |",
        "|---|---|",
        f"| cycles passed | {result.passed} of {result.cycles} |",
        f"| cycles failed | {result.failed} |",
        f"| mutations applied twice (request logs) | {len(result.applied_twice)} |",
        f"| 410s served to watches | {result.expiries_served} |",
        f"| unrecorded gaps (410s with no recorded gap) | {result.unrecorded_gaps} |",
        f"| gaps recorded, by reason | {gaps} |",
        "<!-- end of chaos-soak figures -->",
    ])


def _write_doc(text: str) -> None:
    doc = DOC.read_text()
    pattern = re.compile(r"<!-- chaos-soak figures:.*?<!-- end of chaos-soak figures -->", re.S)
    DOC.write_text(pattern.sub(lambda _: text, doc) if pattern.search(doc) else doc + "\n" + text + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cycles", type=int, default=100)
    parser.add_argument("--clusters", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dir", type=Path, default=Path("chaos-soak"))
    parser.add_argument("--write-doc", action="store_true")
    args = parser.parse_args(argv)
    args.dir.mkdir(parents=True, exist_ok=True)
    result = asyncio.run(soak(args.dir, cycles=args.cycles, clusters=args.clusters, seed=args.seed))
    command = f".venv/bin/python benchmarks/chaos_soak.py --cycles {args.cycles} --clusters {args.clusters} " \
              f"--seed {args.seed}"
    text = _figures(result, command)
    print(text)
    for line in result.applied_twice:
        print(f"applied twice: {line}", file=sys.stderr)
    if args.write_doc:
        _write_doc(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
