"""Shared fixtures: emulated hubs over real HTTPS, clients for them, and the leftover-task guard."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import structlog
from kubernetes_asyncio import client, config

from asyncswitch.sim import ApiServer, kubeconfig_for, write_kubeconfig


@pytest.fixture(autouse=True)
def structlog_config_kept() -> Iterator[None]:
    """A test that runs main() configures logging onto its captured (later closed) streams: undo it, so
    a later test's warnings do not write to a closed file."""
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


@pytest.fixture(autouse=True)
async def no_leftover_tasks() -> AsyncIterator[None]:
    """Fail a test that leaves tasks running on its loop after its fixtures are torn down."""
    before = asyncio.all_tasks()
    yield
    for _ in range(3):  # let tasks that were cancelled during teardown finish unwinding
        await asyncio.sleep(0)
    leftover = [t for t in asyncio.all_tasks() - before if not t.done() and t is not asyncio.current_task()]
    for task in leftover:
        task.cancel()
    if leftover:
        pytest.fail(f"the test left {len(leftover)} task(s) running: {[t.get_name() for t in leftover]}")


@pytest.fixture
async def hub() -> AsyncIterator[ApiServer]:
    """One emulated API server on HTTPS, with short bookmark intervals for tests."""
    async with ApiServer("hub", bookmark_interval=0.2) as server:
        yield server


@pytest.fixture
def kubeconfig(hub: ApiServer, tmp_path: Path) -> Path:
    path = tmp_path / "kubeconfig"
    write_kubeconfig(path, kubeconfig_for([hub]))
    return path


@pytest.fixture
async def api(kubeconfig: Path) -> AsyncIterator[client.ApiClient]:
    """A kubernetes_asyncio client with the hub's full-access token."""
    api_client = await config.new_client_from_config(config_file=str(kubeconfig), context="hub",
                                                     persist_config=False)
    async with api_client:
        yield api_client


@pytest.fixture
async def read_only_api(hub: ApiServer, tmp_path: Path) -> AsyncIterator[client.ApiClient]:
    path = tmp_path / "kubeconfig-viewer"
    write_kubeconfig(path, kubeconfig_for([hub], read_only=True))
    api_client = await config.new_client_from_config(config_file=str(path), context="hub", persist_config=False)
    async with api_client:
        yield api_client
