"""Fixtures for the simulated ACM hub pair: the pair itself and a kubernetes_asyncio client per hub.

A test picks the pair's knobs with ``@pytest.mark.sim(...)`` (SimConfig fields; ``profile``
and ``speed`` name a timing profile). Without it the pair runs the ``instant`` profile with
a small fleet and seed 1.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio import config as kube_config

from asyncswitch.sim.acm import SimConfig, SimulatedHubPair, profile_named

from .resources import Hub

DEFAULT_KNOBS: dict[str, Any] = {"clusters": 6, "profile": "instant", "seed": 1}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sim(**knobs): SimConfig knobs for the simulated hub pair (profile/speed name a profile)")


def sim_config(**knobs: Any) -> SimConfig:
    """A SimConfig from knobs, with ``profile`` given by name and an optional ``speed``."""
    merged = {**DEFAULT_KNOBS, **knobs}
    profile = merged.pop("profile")
    speed = merged.pop("speed", None)
    if isinstance(profile, str):
        profile = profile_named(profile, speed=speed)
    return SimConfig(profile=profile, **merged)


@pytest.fixture
def knobs(request: pytest.FixtureRequest) -> dict[str, Any]:
    marker = request.node.get_closest_marker("sim")
    return dict(marker.kwargs) if marker else {}


@pytest.fixture
async def pair(knobs: dict[str, Any]) -> AsyncIterator[SimulatedHubPair]:
    async with SimulatedHubPair(sim_config(**knobs)) as sim:
        yield sim


@pytest.fixture
def kubeconfig_path(pair: SimulatedHubPair, tmp_path: Path) -> Path:
    return pair.write_kubeconfig(tmp_path / "kubeconfig")


async def connect(kubeconfig: Path, context: str) -> client.ApiClient:
    return await kube_config.new_client_from_config(config_file=str(kubeconfig), context=context, persist_config=False)


@pytest.fixture
async def hub_a(kubeconfig_path: Path) -> AsyncIterator[Hub]:
    async with await connect(kubeconfig_path, "hub-a") as api:
        yield Hub.of("hub-a", api)


@pytest.fixture
async def hub_b(kubeconfig_path: Path) -> AsyncIterator[Hub]:
    async with await connect(kubeconfig_path, "hub-b") as api:
        yield Hub.of("hub-b", api)


@pytest.fixture
def hubs(hub_a: Hub, hub_b: Hub) -> dict[str, Hub]:
    return {"hub-a": hub_a, "hub-b": hub_b}
