"""Soak controls through the library API: --max-failures, --stop-on-failure, --run-hours, --cooldown
and request_stop(). The rule for each: a cycle in flight always finishes; a stop only keeps the
next one from starting.

These run real switchover cycles against a simulated pair on the test's loop, so they stay in real
time (virtual time would fast-forward the hubs' controllers and the client's deadlines too) with
sub-second cooldowns and limits. Hours of cooldown and run-hours, on virtual time, are in
test_soak_timing.py."""

from __future__ import annotations

from pathlib import Path

from asyncswitch.engine import EngineEvent
from asyncswitch.runner import Engine
from asyncswitch.sim import FaultRule
from asyncswitch.sim.acm import SimulatedHubPair

from .support import after_cycle, read_json, run_config, run_engine

FORBID_NAMESPACES = FaultRule(verb="list", resource="namespaces", error_rate=1.0, status=403)
"""Preflight's first question to a hub is a namespace list: refused, the cycle fails at once."""


def refuse_preflight(pair: SimulatedHubPair) -> None:
    for server in (pair.hub_a, pair.hub_b):
        server.faults.add(FORBID_NAMESPACES)


async def test_max_failures_stops_the_run_after_that_many_failed_cycles(pair: SimulatedHubPair,
                                                                        tmp_path: Path) -> None:
    refuse_preflight(pair)

    run = await run_engine(run_config(tmp_path, cycles=5, max_failures=2), pair)

    assert run.cycle_ends() == [("cycle-0001", False), ("cycle-0002", False)]
    assert (run.result.cycles, run.result.failures, run.result.stop_reason) == (2, 2, "max failures reached")
    summary = read_json(run.result.run_dir / "summary.json")
    assert (summary["cycles"], summary["failures"], summary["success_rate"]) == (2, 2, 0.0)
    assert summary["end_state"]["stop_reason"] == "max failures reached"


async def test_stop_on_failure_stops_at_the_first_failed_cycle(pair: SimulatedHubPair, tmp_path: Path) -> None:
    run = await run_engine(run_config(tmp_path, cycles=5, stop_on_failure=True), pair,
                           on_event=after_cycle("cycle-0001", lambda engine: refuse_preflight(pair)))

    assert run.cycle_ends() == [("cycle-0001", True), ("cycle-0002", False)]
    assert (run.result.successes, run.result.failures, run.result.stop_reason) == (1, 1, "stop on failure")
    assert read_json(run.result.run_dir / "run_state.json")["next_cycle"] == 3


async def test_a_run_hours_limit_that_has_passed_starts_no_cycle(pair: SimulatedHubPair, tmp_path: Path) -> None:
    run = await run_engine(run_config(tmp_path, cycles=5, run_hours=1e-6), pair)  # 3.6 ms: gone before the first check

    assert run.of("cycle_start") == []
    assert (run.result.cycles, run.result.stop_reason) == (0, "run hours reached")
    assert read_json(run.result.run_dir / "summary.json")["end_state"]["stop_reason"] == "run hours reached"


async def test_the_cycle_in_flight_when_run_hours_pass_finishes_and_no_other_starts(
        pair: SimulatedHubPair, tmp_path: Path) -> None:
    limit = 1.5
    # Activation's patch of the passive restore is held long enough that cycle 1 outlives the limit.
    pair.hub_b.faults.add(FaultRule(verb="patch", resource="restores", latency=limit + 0.5))

    run = await run_engine(run_config(tmp_path, cycles=5, run_hours=limit / 3600), pair)

    assert run.cycle_ends() == [("cycle-0001", True)]
    assert [e.cycle_id for e in run.of("cycle_start")] == ["cycle-0001"]
    assert run.result.stop_reason == "run hours reached"
    state = read_json(run.result.run_dir / "run_state.json")
    assert state["elapsed_before"] >= limit  # the loop looked again only after the limit, and stopped
    assert (state["next_cycle"], state["in_flight"], state["finished"]) == (2, None, True)


async def test_request_stop_lets_the_cycle_in_flight_finish_and_starts_no_other(pair: SimulatedHubPair,
                                                                                 tmp_path: Path) -> None:
    def stop_during_activation(engine: Engine, event: EngineEvent) -> None:
        if event.type == "phase_start" and event.data["phase"] == "activation":
            engine.request_stop()

    run = await run_engine(run_config(tmp_path, cycles=3), pair, on_event=stop_during_activation)

    assert run.cycle_ends() == [("cycle-0001", True)]
    phases = [e.data["phase"] for e in run.of("phase_result")]
    assert phases == ["preflight", "primary_preparation", "activation", "post_activation_verification",
                      "finalization"]
    assert (run.result.cycles, run.result.stop_reason) == (1, "stopped")


async def test_request_stop_during_a_cooldown_ends_it_early(pair: SimulatedHubPair, tmp_path: Path) -> None:
    # The loop enters the cooldown before any other task sees cycle 1's end: the stop lands inside it.
    run = await run_engine(run_config(tmp_path, cycles=3, cooldown=3600.0), pair, timeout=30.0,
                           on_event=after_cycle("cycle-0001", lambda engine: engine.request_stop()))

    assert run.cycle_ends() == [("cycle-0001", True)]
    assert [e.type for e in run.events[-2:]] == ["cycle_end", "run_end"]
    assert run.result.stop_reason == "stopped"


async def test_a_cooldown_separates_the_end_of_a_cycle_from_the_start_of_the_next(pair: SimulatedHubPair,
                                                                                   tmp_path: Path) -> None:
    cooldown = 0.3

    run = await run_engine(run_config(tmp_path, cycles=2, cooldown=cooldown), pair)

    (end_1, _end_2), (_start_1, start_2) = run.of("cycle_end"), run.of("cycle_start")
    assert start_2.monotonic - end_1.monotonic >= cooldown
    assert run.result.successes == 2


async def test_no_cooldown_follows_the_last_cycle(pair: SimulatedHubPair, tmp_path: Path) -> None:
    run = await run_engine(run_config(tmp_path, cycles=1, cooldown=3600.0), pair, timeout=30.0)

    assert (run.result.cycles, run.result.stop_reason) == (1, "cycles done")
