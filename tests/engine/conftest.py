"""Fixtures for the cycle engine's tests: a small simulated hub pair on the instant profile."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from asyncswitch.sim.acm import SimulatedHubPair

from .support import instant_pair


@pytest.fixture
async def pair() -> AsyncIterator[SimulatedHubPair]:
    async with SimulatedHubPair(instant_pair()) as sim:
        yield sim
