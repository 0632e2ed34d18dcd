"""The pytest plugin (a pytest11 entry point): the seed's ``pytest -m e2e`` interface on asyncswitch.

Options (``pytest --help``, group "asyncswitch"), each also an environment variable:
``--primary-context``/``--secondary-context`` (none: the simulated pair), ``--e2e-kubeconfig``,
``--e2e-cycles``, ``--e2e-dry-run``, ``--e2e-method``, ``--e2e-activation-method``, ``--e2e-old-hub-action``,
``--e2e-cooldown``, ``--e2e-output-dir``, ``--e2e-stop-on-failure``, ``--e2e-run-hours``,
``--e2e-max-failures``, ``--e2e-resume``, ``--e2e-inject-failure``, ``--e2e-inject-at-phase``,
``--e2e-sim-clusters``, ``--e2e-sim-profile``, ``--e2e-allow-one-way`` (options.py has the table).

Markers: ``e2e``, ``resilience``, ``soak``. Fixtures (fixtures.py; they need pytest-asyncio):
``e2e_config`` (the session's RunConfig), ``primary_client``/``secondary_client`` (kube Hubs),
``e2e_engine_factory``, ``asyncswitch_run``, ``sim_hub_pair`` (session-scoped, on the session loop).

    pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

    async def test_three_cycles_succeed(asyncswitch_run):
        result = await asyncswitch_run(cycles=3)
        assert result.successes == 3

At the end of a session that ran cycles, the terminal summary shows per-phase percentiles over all
its runs, the cycles passed and failed, and the run directories.
"""

from __future__ import annotations

import importlib.util

import pytest

from .options import add_options, resolve_options
from .session import SESSION, E2ESession

__all__ = ["pytest_addoption", "pytest_configure", "pytest_terminal_summary"]

MARKERS = (
    "e2e: drives switchover cycles against hubs (the given contexts, else the simulated pair)",
    "resilience: e2e cycles under injected faults (--e2e-inject-failure)",
    "soak: e2e soak controls (--e2e-run-hours, --e2e-max-failures, --e2e-resume)",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    if config.getoption("help", False):
        return  # --help must work whatever the environment holds
    config.stash[SESSION] = E2ESession(resolve_options(config))
    if importlib.util.find_spec("pytest_asyncio") is not None:
        from . import fixtures
        config.pluginmanager.register(fixtures, "asyncswitch.pytest_plugin.fixtures")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int,
                            config: pytest.Config) -> None:
    session = config.stash.get(SESSION, None)
    if session is not None and session.runs:
        from .summary import write_summary
        write_summary(terminalreporter, session.runs)
