"""Each cycle's end is one atomic commit (run state, histograms, the cycle's end record): a kill on either
side of it leaves every counted cycle with exactly one cycle_end, histograms that agree with the counts,
no temp file, and files no looser than the umask. A resumed cycle is marked and kept out of the cycle
histogram (its duration covers only the resumed part)."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from asyncswitch import Engine, RunConfig
from asyncswitch.analysis import load_report
from asyncswitch.sim.acm import SimulatedHubPair
from asyncswitch.switchover import Timeouts

from ..engine.support import instant_pair, of_type, read_json, records, run_config, run_engine


@pytest.fixture
async def pair() -> AsyncIterator[SimulatedHubPair]:
    async with SimulatedHubPair(instant_pair(clusters=2)) as started:
        yield started


async def _resume_on_a_new_pair(config: RunConfig, run_dir: Path, cycles: int) -> None:
    async with SimulatedHubPair(instant_pair(clusters=2)) as fresh:
        await run_engine(replace(config, resume=run_dir, cycles=cycles), fresh)


def _drop_records(run_dir: Path, record_type: str, cycle_id: str) -> None:
    path = run_dir / "metrics.jsonl"
    kept = [line for line in path.read_text().splitlines()
            if not (json.loads(line)["type"] == record_type and json.loads(line).get("cycle_id") == cycle_id)]
    path.write_text("".join(line + "\n" for line in kept))


async def test_a_cycle_end_lost_after_its_commit_is_written_once_on_resume(pair: SimulatedHubPair,
                                                                            tmp_path: Path) -> None:
    config = run_config(tmp_path, cycles=2)
    run_dir = (await run_engine(config, pair)).result.run_dir
    # Killed after cycle 2's commit, before its cycle_end reached metrics.jsonl.
    _drop_records(run_dir, "cycle_end", "cycle-0002")

    await _resume_on_a_new_pair(config, run_dir, cycles=3)

    ends = of_type(records(run_dir), "cycle_end")
    assert sorted(e["cycle_id"] for e in ends) == ["cycle-0001", "cycle-0002", "cycle-0003"]  # each once
    assert [e["cycle_id"] for e in ends if e.get("replayed")] == ["cycle-0002"]
    summary = read_json(run_dir / "summary.json")
    assert (summary["cycles"], summary["successes"]) == (3, 3)
    assert [c["cycle_id"] for c in summary["cycle_results"]] == ["cycle-0001", "cycle-0002", "cycle-0003"]
    assert summary["cycle_ms"]["count"] == 3


async def test_temp_files_a_killed_writer_left_are_gone_after_a_resume(pair: SimulatedHubPair,
                                                                       tmp_path: Path) -> None:
    config = run_config(tmp_path, cycles=1)
    run_dir = (await run_engine(config, pair)).result.run_dir
    assert not [p for p in run_dir.rglob(".*") if p.name != ".lock"]
    (run_dir / ".run_state.json.1a2b3c4d.partial").write_text("{")
    (run_dir / "histograms" / ".cycle.hdr.0badf00d.partial").write_text("")

    await _resume_on_a_new_pair(config, run_dir, cycles=2)

    assert not [p for p in run_dir.rglob(".*") if p.name != ".lock"]


async def test_analysis_takes_the_histograms_committed_with_the_counted_cycles(pair: SimulatedHubPair,
                                                                               tmp_path: Path) -> None:
    run_dir = (await run_engine(run_config(tmp_path, cycles=2), pair)).result.run_dir
    (run_dir / "histograms" / "cycle.hdr").unlink()  # the export a kill cut short

    report = load_report(run_dir)

    assert report.latency_ms["cycle"]["count"] == 2
    assert not [note for note in report.notes if "latencies are partial" in note]


async def test_artifacts_follow_the_umask_and_the_run_directory_is_private(pair: SimulatedHubPair,
                                                                           tmp_path: Path) -> None:
    previous = os.umask(0o077)
    try:
        run_dir = (await run_engine(run_config(tmp_path, cycles=1), pair)).result.run_dir
    finally:
        os.umask(previous)

    assert stat.S_IMODE(run_dir.stat().st_mode) == 0o700
    looser = {str(p.relative_to(run_dir)): oct(stat.S_IMODE(p.stat().st_mode)) for p in run_dir.rglob("*")
              if stat.S_IMODE(p.stat().st_mode) & 0o077}
    assert looser == {}
    assert not (run_dir / "sim.kubeconfig").exists()  # the stopped simulator's tokens do not outlive the run


async def test_a_resumed_cycle_is_marked_and_kept_out_of_the_cycle_histogram(pair: SimulatedHubPair,
                                                                            tmp_path: Path) -> None:
    config = RunConfig(kubeconfig=pair.write_kubeconfig(tmp_path / "kubeconfig"), primary_context="hub-a",
                       secondary_context="hub-b", output_dir=tmp_path / "runs", progress=False, cycles=3,
                       timeouts=Timeouts(compactor_watch=0.2))
    async with asyncio.timeout(60), Engine(config) as engine:
        run_dir = engine.run_dir

        async def interrupt_in_cycle_2_activation(task: asyncio.Task[object]) -> None:
            async for event in engine.events({"phase_start"}):
                if event.cycle_id == "cycle-0002" and event.data["phase"] == "post_activation_verification":
                    task.cancel()
                    return

        running = asyncio.ensure_future(engine.run())
        interrupter = asyncio.create_task(interrupt_in_cycle_2_activation(running))
        with pytest.raises(asyncio.CancelledError):
            await running
        await interrupter

    async with asyncio.timeout(60), Engine(replace(config, resume=run_dir)) as engine:
        result = await engine.run()

    assert (result.cycles, result.successes) == (3, 3)
    ends = {e["cycle_id"]: e for e in of_type(records(run_dir), "cycle_end")}
    assert [cycle_id for cycle_id, e in sorted(ends.items()) if e["resumed"]] == ["cycle-0002"]
    summary = read_json(run_dir / "summary.json")
    assert summary["cycle_ms"]["count"] == 2  # cycles 1 and 3: whole
    notes = load_report(run_dir).notes
    assert "1 resumed cycle is counted but not in the cycle histogram (only the part after the resume was timed)" \
        in notes
    assert not [note for note in notes if "latencies are partial" in note]
