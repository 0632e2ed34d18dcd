"""RunConfig.gc_between_cycles: no full garbage collection stalls a cycle; one runs after each cycle."""

from __future__ import annotations

import gc
import time
from pathlib import Path

from asyncswitch.sim.acm import SimulatedHubPair

from .support import instant_pair, run_config, run_engine


async def test_full_collections_run_between_cycles_and_never_during_one(tmp_path: Path) -> None:
    full: list[float] = []

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 2:
            full.append(time.monotonic())

    thresholds = gc.get_threshold()
    gc.callbacks.append(on_gc)
    try:
        async with SimulatedHubPair(instant_pair()) as pair:
            gc.collect()  # the pair's start-up garbage, before the first cycle
            full.clear()
            run = await run_engine(run_config(tmp_path, cycles=3, gc_between_cycles=True), pair)
    finally:
        gc.callbacks.remove(on_gc)

    assert run.result.successes == 3
    starts = [e.monotonic for e in run.of("cycle_start")]
    ends = [e.monotonic for e in run.of("cycle_end")]
    assert not [t for t in full if any(start < t < end for start, end in zip(starts, ends, strict=True))]
    assert all(any(end < t for t in full) for end in ends)  # one after each cycle
    assert gc.get_threshold() == thresholds  # the process's own settings are back
