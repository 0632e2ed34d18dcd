"""A cycle that fails outside the pipeline is a failed cycle, not a crashed run."""

from __future__ import annotations

import json
from pathlib import Path

from asyncswitch import Engine, RunConfig
from asyncswitch.sim import EmulatedHubPair


async def test_hubs_without_acm_fail_each_cycle_and_the_run_ends_by_its_soak_controls(tmp_path: Path) -> None:
    # Bare API servers: the monitors' watches on ManagedClusters are refused (404), which fails the
    # cycle's task group before the pipeline runs.
    async with EmulatedHubPair() as bare:
        config = RunConfig(cycles=5, max_failures=2, output_dir=tmp_path, progress=False)
        async with Engine(config, hub_pair=bare) as engine:
            result = await engine.run()

    assert (result.cycles, result.failures, result.stop_reason) == (2, 2, "max failures reached")
    records = [json.loads(line) for line in (result.run_dir / "metrics.jsonl").read_text().splitlines()]
    ends = [r for r in records if r["type"] == "cycle_end"]
    assert [r["success"] for r in ends] == [False, False]
    assert all("404" in r["error"] or "NotFound" in r["error"] for r in ends)
    summary = json.loads((result.run_dir / "summary.json").read_text())
    assert summary["failures"] == 2
