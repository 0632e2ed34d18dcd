"""A dry run reads both hubs and changes nothing on them: checked in the simulated servers' request logs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from asyncswitch.pytest_plugin.fixtures import SessionHubPair
from asyncswitch.runner import RunResult

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

MUTATING = frozenset({"create", "update", "patch", "delete", "deletecollection"})


async def test_a_dry_run_changes_nothing_on_either_hub(
        asyncswitch_run: Callable[..., Awaitable[RunResult]], sim_hub_pair: SessionHubPair) -> None:
    since = max(server.requests.now() for server in sim_hub_pair)

    result = await asyncswitch_run(cycles=2, dry_run=True)

    assert (result.successes, result.failures) == (2, 0)
    for server in sim_hub_pair:
        served = server.requests.records(since=since)
        assert [r for r in served if r.verb == "list"], f"{server.name} was not read"
        changes = [f"{r.verb} {r.resource}/{r.name}" for r in served if r.verb in MUTATING and r.status < 400
                   and not (r.resource or "").startswith("selfsubjectaccessreviews")]
        assert changes == [], server.name
