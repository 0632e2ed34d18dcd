"""A hub that does not answer fails the cycle within --hub-answer-timeout, with a one-line cause naming the
hub, and the run ends by its own rules (--max-failures here), instead of its monitors retrying for ever."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from asyncswitch import Engine, RunConfig
from asyncswitch.sim.acm import SimulatedHubPair
from asyncswitch.switchover import Timeouts

from ..engine.support import instant_pair

BOUND = 1.0


@pytest.fixture
async def pair() -> AsyncIterator[SimulatedHubPair]:
    async with SimulatedHubPair(instant_pair(clusters=3)) as started:
        yield started


def _with_hub_b_at(pair: SimulatedHubPair, tmp_path: Path, server: str) -> Path:
    document: dict[str, Any] = pair.kubeconfig()
    for cluster in document["clusters"]:
        if cluster["name"] == "hub-b":
            cluster["cluster"]["server"] = server
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(document))
    return path


def _config(tmp_path: Path, kubeconfig: Path, **options: Any) -> RunConfig:
    return RunConfig(kubeconfig=kubeconfig, primary_context="hub-a", secondary_context="hub-b",
                     output_dir=tmp_path / "runs", progress=False, hub_answer_timeout=BOUND,
                     timeouts=Timeouts(compactor_watch=0.2), **options)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def _run(config: RunConfig) -> Any:
    async with asyncio.timeout(60), Engine(config) as engine:
        return await engine.run()


def _one_line_causes(result: Any) -> list[str]:
    errors = [c["error"] or "" for c in result.summary["cycle_results"]]
    assert all("\n" not in e for e in errors), errors
    return errors


async def test_a_hub_that_refuses_connections_fails_each_cycle_within_the_bound(
        pair: SimulatedHubPair, tmp_path: Path) -> None:
    config = _config(tmp_path, _with_hub_b_at(pair, tmp_path, f"https://127.0.0.1:{_closed_port()}"),
                     cycles=5, max_failures=2)

    result = await _run(config)

    assert (result.cycles, result.failures, result.stop_reason) == (2, 2, "max failures reached")
    assert all("hub-b did not answer" in e for e in _one_line_causes(result))


async def test_a_hub_that_accepts_and_never_answers_fails_each_cycle_within_the_bound(
        pair: SimulatedHubPair, tmp_path: Path) -> None:
    held: list[asyncio.StreamWriter] = []

    async def accept_and_say_nothing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(accept_and_say_nothing, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        result = await _run(_config(tmp_path, _with_hub_b_at(pair, tmp_path, f"https://127.0.0.1:{port}"),
                                    cycles=5, max_failures=2))
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()

    assert (result.cycles, result.failures, result.stop_reason) == (2, 2, "max failures reached")
    assert all(f"hub-b did not answer within {BOUND:g} s" in e for e in _one_line_causes(result))


async def test_a_hub_lost_between_cycles_fails_the_next_cycle_and_the_run_ends_by_its_rules(
        pair: SimulatedHubPair, tmp_path: Path) -> None:
    config = _config(tmp_path, pair.write_kubeconfig(tmp_path / "kubeconfig"), cycles=6, max_failures=1)
    stopping: list[asyncio.Task[None]] = []

    async with asyncio.timeout(60), Engine(config) as engine:
        async def lose_hub_b_after_cycle_2() -> None:
            async for event in engine.events({"cycle_end"}):
                if event.cycle_id == "cycle-0002":
                    stopping.append(asyncio.create_task(pair.hub_b.stop()))
                    await stopping[0]
                    return

        watcher = asyncio.create_task(lose_hub_b_after_cycle_2())
        result = await engine.run()
    await watcher

    assert (result.cycles, result.successes, result.failures) == (3, 2, 1)
    assert result.stop_reason == "max failures reached"
    assert "hub-b did not answer" in _one_line_causes(result)[2]
