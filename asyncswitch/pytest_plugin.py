"""The pytest plugin: run switchover cycles from a test suite.

Options (``pytest --help``, group "asyncswitch") build a :class:`RunConfig`; the ``e2e`` marker
marks tests that drive hubs. Fixtures:

- ``asyncswitch_config``: the RunConfig from the options (session-scoped);
- ``asyncswitch_run``: an async factory that runs the configured cycles and returns the RunResult,
  against the given contexts or, with none, a fresh embedded simulated hub pair.

    @pytest.mark.e2e
    async def test_three_cycles_succeed(asyncswitch_run):
        result = await asyncswitch_run(cycles=3)
        assert result.successes == 3
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from .config import RunConfig
from .errors import ConfigError
from .switchover.options import ActivationMethod, Method, OldHubAction

__all__ = ["pytest_addoption", "pytest_configure"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("asyncswitch", "asyncswitch switchover cycles")
    group.addoption("--asyncswitch-kubeconfig", default=None, help="kubeconfig with both hub contexts")
    group.addoption("--asyncswitch-primary-context", default=None, help="the active hub's context")
    group.addoption("--asyncswitch-secondary-context", default=None, help="the hub to promote")
    group.addoption("--asyncswitch-cycles", type=int, default=1, help="switchover cycles per run (default 1)")
    group.addoption("--asyncswitch-method", choices=[m.value for m in Method], default=Method.PASSIVE.value)
    group.addoption("--asyncswitch-old-hub-action", choices=[a.value for a in OldHubAction],
                    default=OldHubAction.SECONDARY.value)
    group.addoption("--asyncswitch-activation-method", choices=[a.value for a in ActivationMethod],
                    default=ActivationMethod.PATCH.value)
    group.addoption("--asyncswitch-sim-clusters", type=int, default=20)
    group.addoption("--asyncswitch-sim-profile", choices=["instant", "fast", "realistic"], default="fast")
    group.addoption("--asyncswitch-output-dir", default=None, help="run directories (default: pytest's tmp dir)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: drives switchover cycles against hubs (simulated or real)")


def _config_from_options(config: pytest.Config, output_dir: Path) -> RunConfig:
    option = config.getoption
    kubeconfig = option("--asyncswitch-kubeconfig")
    try:
        return RunConfig(
            kubeconfig=Path(kubeconfig) if kubeconfig else None,
            primary_context=option("--asyncswitch-primary-context"),
            secondary_context=option("--asyncswitch-secondary-context"),
            cycles=option("--asyncswitch-cycles"), method=Method(option("--asyncswitch-method")),
            old_hub_action=OldHubAction(option("--asyncswitch-old-hub-action")),
            activation_method=ActivationMethod(option("--asyncswitch-activation-method")),
            sim_clusters=option("--asyncswitch-sim-clusters"), sim_profile=option("--asyncswitch-sim-profile"),
            output_dir=Path(option("--asyncswitch-output-dir") or output_dir), progress=False)
    except ConfigError as exc:
        raise pytest.UsageError(f"asyncswitch: {exc}") from None


@pytest.fixture(scope="session")
def asyncswitch_config(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> RunConfig:
    """The RunConfig the command-line options describe."""
    return _config_from_options(pytestconfig, tmp_path_factory.mktemp("asyncswitch-runs"))


@pytest.fixture
def asyncswitch_run(asyncswitch_config: RunConfig) -> Callable[..., Awaitable[Any]]:
    """``await asyncswitch_run(**overrides)``: run cycles, return the RunResult."""
    # Imported on use: this module loads with every pytest session of a project that has asyncswitch.
    from .runner import Engine
    from .sim.acm import SimConfig, SimulatedHubPair, profile_named

    async def run(**overrides: Any) -> Any:
        config = replace(asyncswitch_config, **overrides)
        async with contextlib.AsyncExitStack() as stack:
            pair = None
            if config.embedded:
                pair = await stack.enter_async_context(SimulatedHubPair(SimConfig(
                    clusters=config.sim_clusters, profile=profile_named(config.sim_profile), seed=config.seed)))
            async with Engine(config, hub_pair=pair) as engine:
                return await engine.run()

    return run
