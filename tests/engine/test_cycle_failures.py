"""A cycle that fails outside the pipeline is a failed cycle, not a crashed run."""

from __future__ import annotations

from pathlib import Path

import pytest

from asyncswitch import ConfigError, Engine, RunConfig
from asyncswitch.sim import EmulatedHubPair


async def test_hubs_without_acm_are_refused_in_one_line_before_a_run_directory_is_made(tmp_path: Path) -> None:
    # Bare API servers: the first answer says ACM's kinds are not served, before any monitor starts.
    async with EmulatedHubPair() as bare:
        config = RunConfig(cycles=5, max_failures=2, output_dir=tmp_path, progress=False)
        with pytest.raises(ConfigError, match=r"^ACM is not installed on hub-a: it does not serve managedclusters"):
            async with Engine(config, hub_pair=bare) as engine:
                await engine.run()
        assert not [r for r in bare.servers[0].requests.records() + bare.servers[1].requests.records()
                    if r.verb in ("create", "update", "patch", "delete", "deletecollection")]
    assert not any(tmp_path.iterdir())  # noqa: ASYNC240
