"""The hubs swap roles after every cycle that moved the fleet, and only then."""

from __future__ import annotations

from pathlib import Path

from asyncswitch.runner import Engine
from asyncswitch.sim import FaultRule
from asyncswitch.sim.acm import SimulatedHubPair

from .support import after_cycle, on_each, read_json, run_config, run_engine

FORBID_NAMESPACES = FaultRule(verb="list", resource="namespaces", error_rate=1.0, status=403, id="no-namespaces")
"""Preflight's first question to each hub is a namespace list: refused, the switchover stops there."""


async def test_cycles_alternate_hub_a_to_hub_b_and_back(pair: SimulatedHubPair, tmp_path: Path) -> None:
    run = await run_engine(run_config(tmp_path, cycles=4), pair)

    assert run.cycle_starts() == [("cycle-0001", "hub-a", "hub-b"), ("cycle-0002", "hub-b", "hub-a"),
                                  ("cycle-0003", "hub-a", "hub-b"), ("cycle-0004", "hub-b", "hub-a")]
    assert run.cycle_ends() == [(f"cycle-000{i}", True) for i in range(1, 5)]
    assert run.result.summary["end_state"]["primary"] == "hub-a"  # filled in when the engine's block exits
    assert run.result.summary == read_json(run.result.run_dir / "summary.json")


async def test_a_cycle_that_fails_before_activation_does_not_swap_the_hubs(pair: SimulatedHubPair,
                                                                          tmp_path: Path) -> None:
    # Cycle 2 goes hub-b → hub-a; hub-a refuses preflight for that cycle only.
    def refuse(engine: Engine) -> None:
        pair.hub_a.faults.add(FORBID_NAMESPACES)

    def allow(engine: Engine) -> None:
        pair.hub_a.faults.remove(FORBID_NAMESPACES.id)

    run = await run_engine(run_config(tmp_path, cycles=4), pair,
                           on_event=on_each(after_cycle("cycle-0001", refuse), after_cycle("cycle-0002", allow)))

    assert run.cycle_starts() == [("cycle-0001", "hub-a", "hub-b"), ("cycle-0002", "hub-b", "hub-a"),
                                  ("cycle-0003", "hub-b", "hub-a"), ("cycle-0004", "hub-a", "hub-b")]
    assert run.cycle_ends() == [("cycle-0001", True), ("cycle-0002", False), ("cycle-0003", True),
                                ("cycle-0004", True)]
    failed = [e.data for e in run.of("phase_result") if e.cycle_id == "cycle-0002"]
    assert [(r["phase"], r["outcome"]) for r in failed] == [("preflight", "failed")]
    assert "hub-a" in failed[0]["error"]
    assert failed[0]["duration_s"] > 0  # measured, though the pipeline reports no duration for a failed phase
    assert not read_json(run.result.run_dir / "cycles" / "cycle-0002" / "result.json")["moved_fleet"]
    summary = read_json(run.result.run_dir / "summary.json")
    assert (summary["cycles"], summary["successes"], summary["failures"]) == (4, 3, 1)
    assert summary["end_state"]["primary"] == "hub-b"
