"""The e2e suite runs on pytest-asyncio's session loop, where the plugin's session-wide simulated
pair serves (or, with --primary-context/--secondary-context, against real hubs)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from asyncswitch.pytest_plugin.options import E2EOptions


def _the_session_pairs(task: asyncio.Task[object]) -> bool:
    """The session pair's controllers ("sim:...") keep working between tests, and its servers keep
    the session clients' connections open: neither is the test's."""
    coro = task.get_coro()
    return task.get_name().startswith("sim:") or getattr(coro, "__qualname__", "") == "RequestHandler.start"


@pytest.fixture
def hubs_up(request: pytest.FixtureRequest, e2e_options: E2EOptions) -> None:
    """The session's simulated pair is up before a test's tasks are counted (its own tasks are not the test's)."""
    if not e2e_options.real_hubs:
        request.getfixturevalue("sim_hub_pair")


@pytest_asyncio.fixture(autouse=True, loop_scope="session")
async def no_leftover_tasks(hubs_up: None) -> AsyncIterator[None]:
    """Fail a test that leaves tasks running on the session loop."""
    before = asyncio.all_tasks()
    yield
    for _ in range(3):
        await asyncio.sleep(0)
    leftover = [t for t in asyncio.all_tasks() - before
                if not t.done() and t is not asyncio.current_task() and not _the_session_pairs(t)]
    for task in leftover:
        task.cancel()
    if leftover:
        pytest.fail(f"the test left {len(leftover)} task(s) running: {[t.get_name() for t in leftover]}")
