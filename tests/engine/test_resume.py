"""A run whose process is SIGKILLed in the middle of a cycle, then continued with --resume: the same
run, each cycle counted once, the histograms carried on, metrics.jsonl whole.

With the embedded simulator the resumed process brings up a fresh simulated pair (hub-a active
again), so the interrupted cycle starts over on it under its own cycle id (see runner.py)."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

from hdrh.histogram import HdrHistogram

from .support import of_type, only_run_dir, poll, read_json, records, run_cli, run_state

CYCLES = ["cycle-0001", "cycle-0002", "cycle-0003"]


def cycle_2_mid_switchover(output_dir: Path) -> Path | None:
    """The run directory, once cycle 2 is in flight and its switchover has got past activation
    (a second or so into the cycle: time the run's last save does not hold)."""
    found = run_state(output_dir)
    if found is None or found[1]["in_flight"] != "cycle-0002":
        return None
    try:
        state = read_json(found[0] / "cycles" / "cycle-0002" / "state.json")
    except (OSError, ValueError):
        return None
    return found[0] if state["phase"] in ("post_activation_verification", "finalization") else None


async def test_a_run_killed_mid_cycle_resumes_as_the_same_run_and_counts_every_cycle_once(tmp_path: Path) -> None:
    output = tmp_path / "out"
    args = ["run", "--cycles", "3", "--sim-clusters", "8", "--no-progress", "--output-dir", str(output)]
    killed_in: list[Path] = []

    async def kill_in_cycle_2(process: asyncio.subprocess.Process) -> None:
        killed_in.append(await poll(lambda: cycle_2_mid_switchover(output), description="cycle 2 mid-switchover"))
        process.send_signal(signal.SIGKILL)

    first = await run_cli(tmp_path, *args, while_running=kill_in_cycle_2)

    assert first.returncode == -signal.SIGKILL
    run_dir = only_run_dir(output)
    assert killed_in == [run_dir]
    state = read_json(run_dir / "run_state.json")
    assert (state["in_flight"], state["next_cycle"], state["successes"], state["failures"]) == ("cycle-0002", 2, 1, 0)
    # Cycle 1's end was made durable; at most the last line was torn by the kill.
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    survived = [json.loads(line) for line in lines[:-1]]
    assert [r["cycle_id"] for r in of_type(survived, "cycle_end")] == ["cycle-0001"]
    started_at = read_json(run_dir / "manifest.json")["started_at"]
    killed_process_span = survived[-1]["ts"] - state["started_wall"]

    resumed = await run_cli(tmp_path, "run", "--resume", str(run_dir), "--cycles", "3", "--sim-clusters", "8",
                            "--no-progress")

    assert resumed.returncode == 0, resumed.stderr
    assert only_run_dir(output) == run_dir  # no second run directory: the same run_id
    found = records(run_dir)  # every line is a whole JSON object again
    assert {r["run_id"] for r in found} == {run_dir.name}
    assert [r["cycle_id"] for r in of_type(found, "cycle_end")] == CYCLES
    assert [r["cycle_id"] for r in of_type(found, "cycle_start")] == ["cycle-0001", "cycle-0002", "cycle-0002",
                                                                     "cycle-0003"]
    summary = read_json(run_dir / "summary.json")
    assert (summary["run_id"], summary["cycles"], summary["successes"], summary["failures"]) == (
        run_dir.name, 3, 3, 0)
    assert [c["cycle_id"] for c in summary["cycle_results"]] == CYCLES
    assert summary["end_state"]["stop_reason"] == "cycles done"
    cycle_histogram = HdrHistogram.decode((run_dir / "histograms" / "cycle.hdr").read_bytes())
    assert cycle_histogram.get_total_count() == 3
    assert summary["cycle_ms"]["count"] == 3
    assert read_json(run_dir / "manifest.json")["started_at"] == started_at
    final = read_json(run_dir / "run_state.json")
    assert (final["in_flight"], final["next_cycle"], final["finished"]) == (None, 4, True)
    assert all((run_dir / "cycles" / c / "result.json").exists() for c in CYCLES)
    # --run-hours counts the killed process's time up to its last record, not only to its last save.
    starts = of_type(found, "run_start")
    assert [(r["resumed"], r["next_cycle"]) for r in starts] == [(False, 1), (True, 2)]
    resumed_process_span = of_type(found, "cycle_end")[-1]["ts"] - starts[1]["ts"]
    assert final["elapsed_before"] >= killed_process_span + resumed_process_span - 0.05


async def test_resuming_a_finished_run_runs_no_cycle_again(tmp_path: Path) -> None:
    args = ["--cycles", "1", "--sim-profile", "instant", "--sim-clusters", "3", "--no-progress"]
    first = await run_cli(tmp_path, "run", *args)
    assert first.returncode == 0, first.stderr

    again = await run_cli(tmp_path, "run", "--resume", *args)  # no RUN_DIR: the newest run in ./runs

    assert again.returncode == 0, again.stderr
    run_dir = only_run_dir(tmp_path / "runs")
    assert len(of_type(records(run_dir), "cycle_start")) == 1
    assert read_json(run_dir / "summary.json")["cycles"] == 1
