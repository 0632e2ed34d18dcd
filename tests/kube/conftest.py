"""Fixtures for the client layer: a Hub over real HTTPS to the emulated API server, with quick retries."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from asyncswitch.kube import ClientSettings, Hub
from asyncswitch.sim import ApiServer

QUICK = ClientSettings(request_timeout=5.0, connect_timeout=2.0, attempts=4, backoff_base=0.01, backoff_max=0.05,
                       list_page_size=50, watch_timeout_seconds=30, watch_inactivity=3.0)
"""Settings for tests: tiny backoffs so retries cost milliseconds, deadlines that fail fast."""


@pytest.fixture
def settings() -> ClientSettings:
    return QUICK


@pytest.fixture
async def kube(kubeconfig: Path, settings: ClientSettings) -> AsyncIterator[Hub]:
    """Our client for the emulated hub (context "hub")."""
    async with Hub.connect(kubeconfig, "hub", settings=settings) as client:
        yield client


@pytest.fixture
def namespace(hub: ApiServer) -> str:
    """A fresh namespace on the hub."""
    hub.store.create(hub.store.type_of("namespaces"), None, {"metadata": {"name": "work"}})
    return "work"
