"""`run --metrics-port`: live OpenMetrics while cycles run, scraped over HTTP and read back with
prometheus_client's own parser."""

from __future__ import annotations

import asyncio
import socket
from contextlib import aclosing
from pathlib import Path

import aiohttp
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from asyncswitch.runner import Engine
from asyncswitch.sim.acm import SimulatedHubPair

from .support import run_cli, run_config

OPENMETRICS = "application/openmetrics-text; version=1.0.0"


async def scrape(url: str) -> dict[str, Metric]:
    async with aiohttp.ClientSession() as session, session.get(url, headers={"Accept": OPENMETRICS}) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("application/openmetrics-text")
        text = await response.text()
    return {family.name: family for family in text_string_to_metric_families(text)}


def value(families: dict[str, Metric], sample_name: str, **labels: str) -> float:
    family = families[sample_name.removesuffix("_total").removesuffix("_count").removesuffix("_sum")]
    found = [s.value for s in family.samples if s.name == sample_name and all(s.labels.get(k) == v
                                                                              for k, v in labels.items())]
    assert len(found) == 1, (sample_name, labels, family.samples)
    return float(found[0])


async def test_a_scrape_mid_cycle_says_which_cycle_and_phase_and_one_after_the_run_counts_it(
    tmp_path: Path, pair: SimulatedHubPair,
) -> None:
    config = run_config(tmp_path, cycles=2, metrics_port=0)
    during: list[dict[str, Metric]] = []
    async with Engine(config, hub_pair=pair) as engine:
        assert engine.metrics_url is not None

        async def scrape_in_second_activation() -> None:
            async with aclosing(engine.events({"phase_start"})) as events:
                async for event in events:
                    if event.cycle_id == "cycle-0002" and event.data["phase"] == "activation":
                        during.append(await scrape(engine.metrics_url))  # type: ignore[arg-type]
                        return

        async with asyncio.TaskGroup() as tg:
            tg.create_task(scrape_in_second_activation())
            result = await engine.run()
        after = await scrape(engine.metrics_url)

    assert result.successes == 2
    [mid] = during
    assert value(mid, "asyncswitch_current_cycle") == 2
    assert value(mid, "asyncswitch_phase", asyncswitch_phase="activation") == 1
    assert value(mid, "asyncswitch_phase", asyncswitch_phase="idle") == 0
    assert value(mid, "asyncswitch_cycles_total", outcome="succeeded") == 1
    monitors = {s.labels["monitor"] for s in mid["asyncswitch_monitor_events"].samples}
    assert "managedclusters.cluster.open-cluster-management.io@hub-a" in monitors
    assert "managedclusters.cluster.open-cluster-management.io@hub-b" in monitors
    assert all(s.value >= 0 for s in mid["asyncswitch_monitor_last_event_age_seconds"].samples)

    assert value(after, "asyncswitch_cycles_total", outcome="succeeded") == 2
    assert value(after, "asyncswitch_cycles_total", outcome="failed") == 0
    assert value(after, "asyncswitch_current_cycle") == 0
    assert value(after, "asyncswitch_phase", asyncswitch_phase="idle") == 1
    assert value(after, "asyncswitch_phase_duration_seconds_count", phase="activation", outcome="succeeded") == 2
    assert value(after, "asyncswitch_cycle_duration_seconds_count") == 2
    assert after["asyncswitch_monitor_events"].samples == []  # no cycle in flight, no monitors


async def test_a_metrics_port_already_taken_is_one_line_exit_2_and_nothing_made(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        finished = await run_cli(tmp_path, "run", "--cycles", "1", "--sim-profile", "instant", "--sim-clusters", "2",
                                 "--metrics-port", str(port), "--no-progress")
    assert finished.returncode == 2
    assert finished.stderr.strip().splitlines() == [
        f"error: --metrics-port {port}: cannot listen on 127.0.0.1: Address already in use"]
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
