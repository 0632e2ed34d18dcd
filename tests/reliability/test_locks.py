"""One process per run directory (an flock), one run per hub pair (a Lease on each hub): the second is
refused in one line that names the holder."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from asyncswitch import ConfigError, Engine, RunConfig
from asyncswitch.engine.lease import LEASE_NAME
from asyncswitch.kube import LEASES, Hub
from asyncswitch.sim.acm import SimulatedHubPair
from asyncswitch.switchover import Timeouts

from ..engine.support import instant_pair, run_config, run_engine

ACM_NAMESPACE = "open-cluster-management"


@pytest.fixture
async def pair() -> AsyncIterator[SimulatedHubPair]:
    async with SimulatedHubPair(instant_pair(clusters=2)) as started:
        yield started


def _against(pair: SimulatedHubPair, tmp_path: Path, name: str, **options: object) -> RunConfig:
    return RunConfig(kubeconfig=pair.write_kubeconfig(tmp_path / "kubeconfig"), primary_context="hub-a",
                     secondary_context="hub-b", output_dir=tmp_path / name, progress=False,
                     timeouts=Timeouts(compactor_watch=0.2), **options)  # type: ignore[arg-type]


async def test_two_resumes_of_one_run_directory_the_second_is_refused(pair: SimulatedHubPair,
                                                                        tmp_path: Path) -> None:
    first = await run_engine(run_config(tmp_path, cycles=1), pair)
    resume = replace(run_config(tmp_path, cycles=3), resume=first.result.run_dir)

    async with Engine(resume, hub_pair=pair):
        with pytest.raises(ConfigError, match=rf"is in use by another asyncswitch process \(pid {os.getpid()}\)"):
            async with Engine(resume, hub_pair=pair):
                pass
    # Released with the first: a resume now goes ahead and counts cycles 2 and 3 once (on this pair, which the
    # engine takes for a new one with hub-a active, they fail their preflight: counted all the same).
    again = await run_engine(resume, pair)
    assert again.result.cycles == 3
    assert [e.cycle_id for e in again.of("cycle_end")] == ["cycle-0002", "cycle-0003"]


async def test_a_second_run_on_a_driven_hub_pair_is_refused_naming_the_holder(pair: SimulatedHubPair,
                                                                              tmp_path: Path) -> None:
    async with Engine(_against(pair, tmp_path, "first")) as first:
        with pytest.raises(ConfigError) as refused:
            async with Engine(_against(pair, tmp_path, "second")):
                pass
    message = str(refused.value)
    assert message.startswith(f"hub-a is driven by another run: lease {ACM_NAMESPACE}/{LEASE_NAME} is held by "
                              f"{socket.gethostname()}/pid-{os.getpid()}/{first.run_id} until ")
    assert "\n" not in message
    assert not (tmp_path / "second").exists() or not any((tmp_path / "second").iterdir())
    # The first run released its leases when it ended.
    assert pair.hub_a.store.find(pair.hub_a.store.type_of("leases.coordination.k8s.io"), ACM_NAMESPACE,
                                 LEASE_NAME) is None


async def test_the_lapsed_lease_of_a_killed_run_is_taken_over_and_a_live_one_is_not(pair: SimulatedHubPair,
                                                                                      tmp_path: Path) -> None:
    config = _against(pair, tmp_path, "runs")
    assert config.kubeconfig is not None
    now = datetime.now(UTC)

    async def foreign_lease(renewed: datetime) -> None:
        async with Hub.connect(config.kubeconfig, "hub-b") as hub_b:  # type: ignore[arg-type]
            await hub_b.create(LEASES, {"metadata": {"name": LEASE_NAME, "namespace": ACM_NAMESPACE},
                                        "spec": {"holderIdentity": "elsewhere/pid-1/run-killed",
                                                 "leaseDurationSeconds": 60,
                                                 "renewTime": renewed.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}},
                               ACM_NAMESPACE)

    await foreign_lease(now - timedelta(seconds=90))  # lapsed 30 s ago
    async with asyncio.timeout(60), Engine(config) as engine:
        result = await engine.run()
    assert result.successes == 3

    await foreign_lease(now)
    with pytest.raises(ConfigError, match=r"^hub-b is driven by another run: .* held by elsewhere/pid-1/run-killed "
                                          r"until \S+ \(\d+ s;"):
        async with Engine(config):
            pass
