"""metrics.jsonl keeps per-event records (watch events, reactions, reconnected clusters) only with
--record-events; by default each cycle has one tally of them, and analyze and compare report the same
from either."""

from __future__ import annotations

import asyncio
import json
import shutil
import statistics
from pathlib import Path

import pytest

from asyncswitch.analysis.cycles import reconnects
from asyncswitch.analysis.rundir import read_run_dir
from asyncswitch.cli import main
from asyncswitch.metrics import JsonlWriter
from asyncswitch.runner import Engine
from asyncswitch.sim.acm import SimulatedHubPair

from ..engine.support import instant_pair, of_type, records, run_config, run_engine

CYCLES = ["cycle-0001", "cycle-0002"]


async def test_by_default_each_cycle_has_one_tally_of_its_watch_events_and_reactions(tmp_path: Path) -> None:
    async with SimulatedHubPair(instant_pair()) as pair:
        run = await run_engine(run_config(tmp_path, cycles=2), pair)

    found = records(run.result.run_dir)
    assert not of_type(found, "watch_event", "reaction", "cluster_reconnected")
    tallies = of_type(found, "cycle_events")
    assert [t["cycle_id"] for t in tallies] == CYCLES
    types = [r["type"] for r in found]
    for cycle_id in CYCLES:  # the tally comes right before its cycle's end
        end = next(i for i, r in enumerate(found) if r["type"] == "cycle_end" and r["cycle_id"] == cycle_id)
        assert types[end - 1] == "cycle_events"
    for tally in tallies:
        cycle_id = tally["cycle_id"]
        watched = [e for e in run.of("watch_event") if e.cycle_id == cycle_id]
        assert tally["watch_event_count"] == len(watched) > 0
        clusters_modified = sum(1 for e in watched if e.data["hub"] == "hub-b" and e.data["kind"] == "ManagedCluster"
                                and e.data["event"] == "MODIFIED")
        assert tally["watch_events"].get("hub-b", {}).get("ManagedCluster", {}).get("MODIFIED", 0) == clusters_modified
        seconds = [e.data["seconds"] for e in run.of("reaction") if e.cycle_id == cycle_id]
        assert tally["reactions"]["count"] == len(seconds) > 0
        assert tally["reactions"]["median_s"] == statistics.median(seconds)
        assert tally["reactions"]["max_s"] == max(seconds)
        reconnects = sorted(e.data["seconds"] for e in run.of("cluster_reconnected") if e.cycle_id == cycle_id)
        assert tally["reconnect_seconds"] == reconnects
        assert len(reconnects) == 5  # the whole fleet moved to the new hub
    summary = json.loads((run.result.run_dir / "summary.json").read_text())
    assert summary["reaction_ms"]["count"] == sum(t["reactions"]["count"] for t in tallies)


async def test_record_events_keeps_every_line_and_analyze_reports_the_same_as_from_the_tallies(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tallied = tmp_path / "tallied.jsonl"
    async with SimulatedHubPair(instant_pair()) as pair, \
            Engine(run_config(tmp_path, cycles=2, record_events=True), hub_pair=pair) as engine:
        # A second writer on the same run, with the default: the same run's records, tallied.
        writer = asyncio.create_task(JsonlWriter(tallied, engine.bus.subscribe()).run())
        result = await engine.run()
    await writer

    recorded = records(result.run_dir)
    assert {r["cycle_id"] for r in of_type(recorded, "watch_event")} == set(CYCLES)
    assert {r["cycle_id"] for r in of_type(recorded, "reaction")} == set(CYCLES)
    assert {r["cycle_id"] for r in of_type(recorded, "cluster_reconnected")} == set(CYCLES)
    assert not of_type(recorded, "cycle_events")

    twin = tmp_path / "twin"
    shutil.copytree(result.run_dir, twin)
    # The second writer subscribed after the engine published run_start: the twin takes the first's.
    run_start = (result.run_dir / "metrics.jsonl").read_text().splitlines(keepends=True)[0]
    assert json.loads(run_start)["type"] == "run_start"
    (twin / "metrics.jsonl").write_text(run_start + tallied.read_text())
    assert (twin / "metrics.jsonl").stat().st_size < (result.run_dir / "metrics.jsonl").stat().st_size

    capsys.readouterr()  # the run's own log lines

    def analyze(run_dir: Path) -> dict[str, object]:
        assert main(["analyze", str(run_dir), "--json"]) == 0
        report: dict[str, object] = json.loads(capsys.readouterr().out)
        for key in ("run_dir", "run_dirs"):
            report.pop(key)
        return report

    from_lines, from_tallies = analyze(result.run_dir), analyze(twin)
    assert from_tallies == from_lines
    # The HTML report's reconnect curves, too.
    assert reconnects(read_run_dir(twin)) == reconnects(read_run_dir(result.run_dir))
    samples = from_lines["cycle_samples_ms"]
    assert len(samples["reaction"]) == len(samples["cluster.reconnect"]) == 2  # type: ignore[index]
