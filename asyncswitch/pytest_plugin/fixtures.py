"""The plugin's fixtures. Registered by the plugin when pytest-asyncio is installed (the async ones
need it); see the package docstring for what each gives.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from ..config import RunConfig
from ..engine import RunState
from ..kube import Hub
from ..runner import Engine, RunResult
from ..sim import ApiServer
from ..sim.acm import SimConfig, SimulatedHubPair, profile_named
from ..switchover.options import OldHubAction
from .options import E2EOptions
from .session import SESSION, E2ESession, RunRecord, active_first, newest_run

__all__ = [
    "EngineFactory",
    "SessionHubPair",
    "asyncswitch_config",
    "asyncswitch_run",
    "e2e_config",
    "e2e_contexts",
    "e2e_engine_factory",
    "e2e_hubs",
    "e2e_options",
    "e2e_output_dir",
    "e2e_roles",
    "primary_client",
    "secondary_client",
    "sim_hub_pair",
]

EngineFactory = Callable[..., AbstractAsyncContextManager[Engine]]
"""``async with e2e_engine_factory(**overrides) as engine: result = await engine.run()``."""


class SessionHubPair(SimulatedHubPair):
    """The session's simulated pair: iterable over its two hubs' API servers, with its kubeconfig."""

    def __init__(self, config: SimConfig) -> None:
        super().__init__(config)
        self.kubeconfig_path = Path()
        """Contexts hub-a and hub-b, written when the pair is up."""

    def __iter__(self) -> Iterator[ApiServer]:
        return iter((self.hub_a, self.hub_b))


def _sim_config(options: E2EOptions) -> SimConfig:
    return SimConfig(clusters=options.sim_clusters, profile=profile_named(options.sim_profile), seed=0)


def _on_session_loop(request: pytest.FixtureRequest) -> bool:
    """The test runs on pytest-asyncio's session loop, where the session's simulated pair serves."""
    marker = request.node.get_closest_marker("asyncio")
    scope = marker.kwargs.get("loop_scope") if marker is not None else None
    if scope is None:
        with contextlib.suppress(ValueError):
            scope = request.config.getini("asyncio_default_test_loop_scope")
    return scope == "session"


@pytest.fixture(scope="session")
def e2e_options(pytestconfig: pytest.Config) -> E2EOptions:
    """The plugin's options as resolved for this session (command line, environment, ini)."""
    return pytestconfig.stash[SESSION].options


@pytest.fixture(scope="session")
def e2e_output_dir(e2e_options: E2EOptions, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the session's run directories go: --e2e-output-dir, else e2e-runs in pytest's temp dir."""
    path = (Path(e2e_options.output_dir) if e2e_options.output_dir
            else tmp_path_factory.getbasetemp() / "e2e-runs")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def e2e_config(e2e_options: E2EOptions, e2e_output_dir: Path) -> RunConfig:
    """The session's RunConfig: the options' contexts (None for the simulated pair), cycles, method ..."""
    return e2e_options.run_config(e2e_output_dir)


@pytest.fixture(scope="session")
def asyncswitch_config(e2e_config: RunConfig) -> RunConfig:
    """The earlier name of ``e2e_config``."""
    return e2e_config


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def sim_hub_pair(e2e_options: E2EOptions, tmp_path_factory: pytest.TempPathFactory,
                       ) -> AsyncIterator[SessionHubPair]:
    """The simulated pair for the whole session (hub-a active at first), on the session's loop.
    Skips the test when contexts are given: it runs against those hubs."""
    if e2e_options.real_hubs:
        pytest.skip("--primary-context/--secondary-context given: these tests run against real hubs")
    pair = SessionHubPair(_sim_config(e2e_options))
    async with pair:
        pair.kubeconfig_path = pair.write_kubeconfig(tmp_path_factory.getbasetemp() / "sim-hubs.kubeconfig")
        yield pair


@pytest.fixture(scope="session")
def e2e_contexts(request: pytest.FixtureRequest, e2e_options: E2EOptions) -> tuple[Path, str, str]:
    """(kubeconfig, primary context, secondary context) as given, or the session's simulated pair's."""
    kubeconfig = e2e_options.kubeconfig_path()
    if kubeconfig is not None and e2e_options.primary_context and e2e_options.secondary_context:
        return kubeconfig, e2e_options.primary_context, e2e_options.secondary_context
    pair: SessionHubPair = request.getfixturevalue("sim_hub_pair")
    return pair.kubeconfig_path, "hub-a", "hub-b"


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def e2e_hubs(e2e_contexts: tuple[Path, str, str]) -> AsyncIterator[tuple[Hub, Hub]]:
    """Clients of the two hubs, the given primary first. Roles swap as cycles run: the primary named
    here need not be the active hub now."""
    kubeconfig, primary, secondary = e2e_contexts
    async with Hub.connect(kubeconfig, primary) as first, Hub.connect(kubeconfig, secondary) as second:
        yield first, second


@pytest_asyncio.fixture(loop_scope="session")
async def e2e_roles(e2e_contexts: tuple[Path, str, str]) -> tuple[str, str]:
    """(active, passive): the two hubs' contexts as their roles are now (given order if unclear)."""
    kubeconfig, primary, secondary = e2e_contexts
    return await active_first(kubeconfig, primary, secondary)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def primary_client(e2e_hubs: tuple[Hub, Hub]) -> Hub:
    """The client of the hub given as --primary-context (hub-a on the simulated pair)."""
    return e2e_hubs[0]


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def secondary_client(e2e_hubs: tuple[Hub, Hub]) -> Hub:
    """The client of the hub given as --secondary-context (hub-b on the simulated pair)."""
    return e2e_hubs[1]


def _resume_dirs(base: Path, options: E2EOptions, output_dir: Path) -> list[Path]:
    dirs = [output_dir]
    if options.output_dir is None:
        # pytest keeps the temp dirs of the last sessions: an interrupted session's runs are there.
        dirs += sorted(p / "e2e-runs" for p in base.parent.iterdir() if p != base and (p / "e2e-runs").is_dir())
    return dirs


@pytest.fixture
def e2e_engine_factory(request: pytest.FixtureRequest, e2e_config: RunConfig, e2e_options: E2EOptions,
                       e2e_output_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> EngineFactory:
    """``async with e2e_engine_factory(**overrides) as engine``: an Engine on the session's hubs.

    Before each run the active hub is found and goes first. Runs whose old-hub action leaves the pair
    with no way back (decommission, none) get a fresh simulated pair of their own; against real hubs
    they are skipped unless --e2e-allow-one-way (or, for none, the session's own --e2e-old-hub-action).
    A test off the session loop gets a fresh simulated pair per run.
    """
    session: E2ESession = request.config.stash[SESSION]
    shared: SessionHubPair | None = None
    if not e2e_options.real_hubs and _on_session_loop(request):
        shared = request.getfixturevalue("sim_hub_pair")

    @contextlib.asynccontextmanager
    async def open_engine(**overrides: Any) -> AsyncIterator[Engine]:
        config = replace(e2e_config, **overrides)
        one_way = config.old_hub_action is not OldHubAction.SECONDARY and not config.dry_run
        if one_way and e2e_options.real_hubs and not e2e_options.allow_one_way:
            if config.old_hub_action is OldHubAction.DECOMMISSION:
                pytest.skip("--old-hub-action decommission removes ACM from the old hub: give --e2e-allow-one-way")
            if config.old_hub_action.value != e2e_options.old_hub_action:
                pytest.skip("--old-hub-action none leaves the old hub without the passive restore that later "
                            "passive cycles need: give --e2e-allow-one-way")
        async with contextlib.AsyncExitStack() as stack:
            pair: SimulatedHubPair | None = None
            if not e2e_options.real_hubs and (shared is None or one_way):
                pair = await stack.enter_async_context(SimulatedHubPair(_sim_config(e2e_options)))
                config = replace(config, kubeconfig=None, primary_context=None, secondary_context=None)
                first, second, how = "hub-a", "hub-b", "active on a simulated pair of this run's own"
            else:
                kubeconfig = e2e_options.kubeconfig_path() or (shared.kubeconfig_path if shared else None)
                assert kubeconfig is not None
                how = "found active"
                if "primary_context" in overrides:
                    first, second = str(config.primary_context), str(config.secondary_context)
                    how = "named primary by the test"
                else:
                    given = (e2e_options.primary_context or "hub-a", e2e_options.secondary_context or "hub-b")
                    first, second = await active_first(kubeconfig, *given)
                config = config.with_contexts(kubeconfig, first, second)
                if shared is not None:  # simulated operators run faster: watch as many simulated seconds
                    config = replace(config, timeouts=replace(
                        config.timeouts, compactor_watch=shared.real_seconds(config.timeouts.compactor_watch)))
            if e2e_options.resume and not session.resume_used and config.resume is None:
                session.resume_used = True
                found = newest_run(*_resume_dirs(tmp_path_factory.getbasetemp(), e2e_options, e2e_output_dir))
                print(f"asyncswitch: --e2e-resume: {f'continuing {found}' if found else 'no run to resume'}")
                if found is not None:
                    config = replace(config, resume=found)
            if config.resume is not None and pair is None:
                _order_resumed_run(config.resume, first, second)
            print(f"asyncswitch: primary {first} ({how}): the first cycle moves the fleet {first} -> {second}")
            engine = Engine(config, hub_pair=pair, sim_controls=shared)
            try:
                async with engine as running:
                    yield running
            finally:
                if engine.run_id:  # the run started: its directory goes in the closing summary, failed or not
                    session.runs.append(RunRecord(request.node.nodeid, engine.run_dir, first, second))

    return open_engine


def _order_resumed_run(run_dir: Path, primary: str, secondary: str) -> None:
    """A resumed run starts from the roles the hubs have now (a cycle in flight keeps its own)."""
    path = run_dir / "run_state.json"
    if not path.is_file():
        return  # the Engine says what is wrong with the directory
    state = RunState.load(path)
    if state.in_flight is None and {state.primary, state.secondary} == {primary, secondary}:
        state.primary, state.secondary = primary, secondary
        state.save(path)


@pytest.fixture
def asyncswitch_run(e2e_engine_factory: EngineFactory) -> Callable[..., Awaitable[RunResult]]:
    """``await asyncswitch_run(**overrides)``: run cycles on the session's hubs, return the RunResult."""

    async def run(**overrides: Any) -> RunResult:
        async with e2e_engine_factory(**overrides) as engine:
            result = await engine.run()
        return result

    return run
