"""Fixtures for the switchover pipeline's tests: a simulated hub pair and our client for each hub.

A test picks the pair's knobs with ``@pytest.mark.pair(...)`` (SimConfig fields; ``profile`` names
a timing profile, ``speed`` and the other TimingProfile fields adjust it). Without it the pair runs
the fast profile (a 20-cluster switchover in about 2 s) with 8 clusters and seed 1.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from asyncswitch.kube import Hub
from asyncswitch.sim.acm import SimConfig, SimulatedHubPair, profile_named

DEFAULT_KNOBS: dict[str, Any] = {"clusters": 8, "profile": "fast", "seed": 1}
_PROFILE_FIELDS = {f.name for f in dataclasses.fields(profile_named("fast"))} - {"name"}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "pair(**knobs): SimConfig knobs of the simulated hub pair (profile names a timing profile; "
                   "TimingProfile fields such as restore_deletion adjust it)")


def sim_config(**knobs: Any) -> SimConfig:
    merged = {**DEFAULT_KNOBS, **knobs}
    timing = {k: merged.pop(k) for k in list(merged) if k in _PROFILE_FIELDS}
    profile = profile_named(merged.pop("profile"))
    return SimConfig(profile=dataclasses.replace(profile, **timing), **merged)


@pytest.fixture
async def pair(request: pytest.FixtureRequest) -> AsyncIterator[SimulatedHubPair]:
    marker = request.node.get_closest_marker("pair")
    async with SimulatedHubPair(sim_config(**(marker.kwargs if marker else {}))) as sim:
        yield sim


@pytest.fixture
def kubeconfig(pair: SimulatedHubPair, tmp_path: Path) -> Path:
    return pair.write_kubeconfig(tmp_path / "kubeconfig")


@pytest.fixture
async def hubs(kubeconfig: Path) -> AsyncIterator[dict[str, Hub]]:
    """Our client for each hub, by context name; the pipeline and the checks share them."""
    async with Hub.connect(kubeconfig, "hub-a") as hub_a, Hub.connect(kubeconfig, "hub-b") as hub_b:
        yield {"hub-a": hub_a, "hub-b": hub_b}
