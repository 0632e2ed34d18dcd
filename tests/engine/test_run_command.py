"""``python -m asyncswitch run``, the README's main command, as a user runs it: in a fresh directory,
against the embedded simulated hubs, leaving the run's artifacts exactly as the product brief says."""

from __future__ import annotations

import json
import re
import stat
from datetime import datetime
from pathlib import Path

import yaml
from hdrh.histogram import HdrHistogram

from .support import CYCLE_SCOPED, of_type, only_run_dir, poll, read_json, records, run_cli

PHASES = ["preflight", "primary_preparation", "activation", "post_activation_verification", "finalization"]
CYCLES = ["cycle-0001", "cycle-0002", "cycle-0003"]


def hub_tokens(kubeconfig: str) -> list[str]:
    config = yaml.safe_load(kubeconfig)
    tokens = [user["user"]["token"] for user in config["users"]]
    assert len(tokens) == 2
    assert all(len(token) >= 16 for token in tokens)
    return tokens


async def test_the_main_command_runs_three_cycles_and_leaves_the_artifacts_of_the_product_brief(
        tmp_path: Path) -> None:
    seen: dict[str, tuple[int, str]] = {}

    async def read_the_kubeconfig_while_running(process: object) -> None:
        # The embedded hubs' kubeconfig lives in the run directory while the run does (mode 0600).
        path = await poll(lambda: next((tmp_path / "runs").glob("run-*/sim.kubeconfig"), None),
                          description="the run's kubeconfig")
        content = await poll(lambda: path.read_text() or None, description="a whole kubeconfig")
        seen["kubeconfig"] = (stat.S_IMODE(path.stat().st_mode), content)

    finished = await run_cli(tmp_path, "run", while_running=read_the_kubeconfig_while_running)

    assert finished.returncode == 0, finished.stderr
    assert "3/3 cycles succeeded" in finished.stdout
    run_dir = only_run_dir(tmp_path / "runs")
    run_id = run_dir.name
    assert stat.S_IMODE(run_dir.stat().st_mode) == 0o700
    assert re.fullmatch(r"run-\d{8}-\d{6}-[0-9a-f]{6}", run_id)
    assert sorted(p.name for p in run_dir.iterdir()) == [
        ".lock", "cycles", "histograms", "manifest.json", "metrics.jsonl", "run_state.json", "summary.json"]

    # manifest.json: inputs, run_id, git SHA, versions, hub versions, host, start time.
    manifest = read_json(run_dir / "manifest.json")
    assert manifest["run_id"] == run_id
    assert (manifest["inputs"]["cycles"], manifest["inputs"]["method"]) == (3, "passive")
    assert manifest["inputs"]["primary_context"] == "hub-a"
    assert manifest["embedded_simulator"] == {"clusters": 20, "profile": "fast", "seed": 0, "acm_version": "2.14.2"}
    assert re.fullmatch(r"[0-9a-f]{40}", manifest["git_sha"])
    assert manifest["versions"]["asyncswitch"] == "0.1.0"
    assert manifest["versions"]["python"].startswith("3.")
    assert {hub: v["acm"] for hub, v in manifest["hubs"].items()} == {"hub-a": "2.14.2", "hub-b": "2.14.2"}
    assert manifest["host"]["hostname"]
    assert manifest["host"]["cpus"] >= 1
    assert datetime.fromisoformat(manifest["started_at"]).tzinfo is not None

    # summary.json: counts, rate, per-phase percentiles, end state.
    summary = read_json(run_dir / "summary.json")
    assert (summary["run_id"], summary["cycles"], summary["successes"], summary["failures"]) == (run_id, 3, 3, 0)
    assert summary["success_rate"] == 1.0
    assert sorted(summary["phases_ms"]) == sorted(PHASES)
    for name, stats in summary["phases_ms"].items():
        assert stats["count"] == 3, name
        assert 0 < stats["p50"] <= stats["p95"] <= stats["p99"] <= stats["max"], name
    assert summary["cycle_ms"]["count"] == 3
    assert 0 < summary["cluster_reconnect_ms"]["count"] <= 60  # at most 20 clusters moved 3 times
    # Reaction: each of the run's writes to a watched object, timed until a monitor saw it (milliseconds,
    # recorded in microseconds: a loopback hub answers well within one).
    reaction = summary["reaction_ms"]
    assert reaction["count"] >= 3 * 20  # at least disable-auto-import on every cluster, every cycle
    assert 0 < reaction["min"] <= reaction["p50"] <= reaction["p99"] <= reaction["max"]
    assert reaction["min"] != int(reaction["min"]) or reaction["p50"] != int(reaction["p50"])
    assert [c["cycle_id"] for c in summary["cycle_results"]] == CYCLES
    assert summary["end_state"] == {"primary": "hub-b", "secondary": "hub-a", "stop_reason": "cycles done",
                                    "interrupted": False}

    # metrics.jsonl: whole JSON objects, each with type, ts and run_id, and cycle_id where it applies.
    found = records(run_dir)
    assert all(isinstance(r["type"], str) and isinstance(r["ts"], float) and r["run_id"] == run_id for r in found)
    assert all(r.get("cycle_id") in CYCLES for r in found if r["type"] in CYCLE_SCOPED)
    assert {"cycle_start", "phase_start", "phase_result", "cycle_end", "cycle_events"} <= {r["type"] for r in found}
    assert [r["cycle_id"] for r in of_type(found, "cycle_end")] == CYCLES
    assert [r["type"] for r in found][-1] == "run_end"
    # Watch events and reactions are tallied per cycle, not written one line each (--record-events does).
    assert not of_type(found, "watch_event", "reaction")
    tallies = of_type(found, "cycle_events")
    assert [t["cycle_id"] for t in tallies] == CYCLES
    assert sum(t["reactions"]["count"] for t in tallies) == reaction["count"]
    assert all(set(t["watch_events"]) == {"hub-a", "hub-b"} for t in tallies)
    assert len(of_type(found, "phase_result")) == 15

    # histograms/: encoded HDR histograms that decode and merge.
    histograms = {p.stem: HdrHistogram.decode(p.read_bytes()) for p in (run_dir / "histograms").glob("*.hdr")}
    assert {"cycle", "reaction", *(f"phase.{p}" for p in PHASES)} <= set(histograms)
    assert histograms["cycle"].get_total_count() == 3
    merged = HdrHistogram.decode((run_dir / "histograms" / "cycle.hdr").read_bytes())
    merged.add(histograms["phase.activation"])
    assert merged.get_total_count() == 6
    assert merged.get_max_value() == histograms["cycle"].get_max_value()

    # cycles/<cycle_id>/: each cycle's state and result, readable alone.
    assert sorted(p.name for p in (run_dir / "cycles").iterdir()) == CYCLES
    for number, cycle_id in enumerate(CYCLES, 1):
        result = read_json(run_dir / "cycles" / cycle_id / "result.json")
        assert (result["cycle_id"], result["cycle"], result["success"]) == (cycle_id, number, True)
        assert [p["phase"] for p in result["phases"]] == PHASES
        state = read_json(run_dir / "cycles" / cycle_id / "state.json")
        assert state["phase"] == "completed"

    # Secrets: the hub tokens were in the run's kubeconfig (mode 0600) while it ran, and are nowhere now.
    mode, kubeconfig = seen["kubeconfig"]
    assert mode == 0o600
    tokens = hub_tokens(kubeconfig)
    for path in [p for p in run_dir.rglob("*") if p.is_file()]:
        content = path.read_bytes()
        assert not any(token.encode() in content for token in tokens), f"a hub token is in {path}"
    assert not any(token in finished.stdout + finished.stderr for token in tokens)

    # The closing lines: the table, the reaction figures, where the artifacts are.
    assert re.search(r"monitors saw the run's \d+ writes after p50 [\d.]+ ms, p99 [\d.]+ ms", finished.stdout)
    table = [line.split()[1] for line in finished.stdout.splitlines() if line.startswith("│")]
    assert table == [*PHASES, "cycle", "cluster.reconnect"]  # in pipeline order


async def test_twenty_instant_cycles_all_succeed(tmp_path: Path) -> None:
    finished = await run_cli(tmp_path, "run", "--cycles", "20", "--sim-profile", "instant", "--sim-clusters", "5",
                             "--no-progress", "--output-dir", "out")

    assert finished.returncode == 0, finished.stderr
    summary = read_json(only_run_dir(tmp_path / "out") / "summary.json")
    assert (summary["cycles"], summary["successes"], summary["success_rate"]) == (20, 20, 1.0)
    assert summary["end_state"]["primary"] == "hub-a"


async def test_json_logs_carry_the_run_the_cycle_and_the_phase_on_every_line(tmp_path: Path) -> None:
    finished = await run_cli(tmp_path, "run", "--cycles", "2", "--sim-profile", "instant", "--sim-clusters", "3",
                             "--no-progress", "--log-format", "json")

    assert finished.returncode == 0, finished.stderr
    lines = [json.loads(line) for line in finished.stderr.splitlines()]
    run_id = only_run_dir(tmp_path / "runs").name
    assert {line["run_id"] for line in lines} == {run_id}
    cycles = [(line["cycle_id"], line["event"]) for line in lines if line["event"].startswith("cycle ")]
    assert cycles == [("cycle-0001", "cycle started"), ("cycle-0001", "cycle ended"),
                      ("cycle-0002", "cycle started"), ("cycle-0002", "cycle ended")]
    phases = [(line["cycle_id"], line["phase"]) for line in lines if line["event"] == "phase succeeded"]
    assert phases == [(cycle, phase) for cycle in ("cycle-0001", "cycle-0002") for phase in PHASES]
    assert all(line["cycle_id"] and line["phase"] for line in lines if line["event"].startswith("phase "))
