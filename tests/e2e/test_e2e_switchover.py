"""The seed's switchover suite: one cycle, many cycles, and the method x old-hub-action matrix.

Runs on the plugin's simulated pair, or unchanged against real hubs with --primary-context and
--secondary-context; --e2e-cycles, --e2e-dry-run, --e2e-run-hours, --e2e-max-failures, --e2e-resume
and --e2e-inject-failure shape the runs as the seed's commands say.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from asyncswitch.config import RunConfig
from asyncswitch.kube import Hub
from asyncswitch.runner import RunResult

from .support import PHASES, assert_hubs_whole, read_json, records

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

Run = Callable[..., Awaitable[RunResult]]


def assert_artifacts(result: RunResult) -> None:
    """The run directory holds what the product promises, one result per cycle, and every phase timed."""
    for name in ("manifest.json", "summary.json", "metrics.jsonl"):
        assert (result.run_dir / name).is_file(), name
    cycle_dirs = sorted(p.name for p in (result.run_dir / "cycles").iterdir())
    assert cycle_dirs == [f"cycle-{n:04d}" for n in range(1, result.cycles + 1)]
    assert all((result.run_dir / "cycles" / c / "result.json").is_file() for c in cycle_dirs)
    for cycle in records(result.run_dir, "cycle_end"):
        if cycle["success"]:
            timed = [r["phase"] for r in records(result.run_dir, "phase_result") if r["cycle_id"] == cycle["cycle_id"]]
            assert timed == list(PHASES), cycle["cycle_id"]


def assert_roles_alternate(result: RunResult, config: RunConfig) -> None:
    """Each cycle starts on the hub the previous one moved the fleet to (dry runs move nothing)."""
    starts = [(r["primary"], r["secondary"]) for r in records(result.run_dir, "cycle_start")]
    for before, after in itertools.pairwise(starts):
        assert after == (before if config.dry_run else before[::-1])


class TestE2ESwitchover:
    async def test_single_switchover_cycle(self, asyncswitch_run: Run, e2e_hubs: tuple[Hub, Hub]) -> None:
        result = await asyncswitch_run(cycles=1)

        assert (result.cycles, result.successes, result.failures) == (1, 1, 0)
        assert_artifacts(result)
        await assert_hubs_whole(e2e_hubs)

    async def test_multi_cycle_switchover(self, asyncswitch_run: Run, e2e_config: RunConfig,
                                          e2e_hubs: tuple[Hub, Hub]) -> None:
        cycles = max(2, e2e_config.cycles)
        result = await asyncswitch_run(cycles=cycles)

        if e2e_config.run_hours is None:
            assert result.cycles == cycles
        assert result.stop_reason in ("cycles done", "run hours reached")
        assert result.failures == 0, read_json(result.run_dir / "summary.json").get("cycles")
        assert_artifacts(result)
        assert_roles_alternate(result, e2e_config)
        await assert_hubs_whole(e2e_hubs)


MATRIX = [
    # The cases that leave the hubs a way back first (against real hubs, with --e2e-allow-one-way, in this order).
    ("passive", "secondary"), ("full", "secondary"), ("passive", "none"), ("full", "none"),
    ("passive", "decommission"), ("full", "decommission"),
]


class TestE2ESwitchoverMatrix:
    """Each method with each old-hub action, one cycle. On the simulated pair, none and decommission
    get a fresh pair of their own; against real hubs they need --e2e-allow-one-way."""

    @pytest.mark.parametrize(("method", "action"), MATRIX, ids=[f"{m}-{a}" for m, a in MATRIX])
    async def test_method_and_old_hub_action(self, asyncswitch_run: Run, e2e_hubs: tuple[Hub, Hub], method: str,
                                             action: str) -> None:
        result = await asyncswitch_run(cycles=1, method=method, old_hub_action=action)

        assert (result.successes, result.failures) == (1, 0)
        inputs: dict[str, Any] = read_json(result.run_dir / "manifest.json")["inputs"]
        assert (inputs["method"], inputs["old_hub_action"]) == (method, action)
        assert_artifacts(result)
        if action == "secondary":  # on the simulated pair the one-way actions ran on a pair of their own
            await assert_hubs_whole(e2e_hubs)
