"""The seed's "Running E2E Tests" commands, as typed there, against asyncswitch's plugin.

A separate small test project (only the plugin's options and fixtures) is run by a real pytest in a
subprocess for each command, with its contexts pointing at a ``python -m asyncswitch sim`` subprocess
(mgmt1 and mgmt2 are that simulator's hub-a and hub-b; the kubeconfig comes from $KUBECONFIG, the
option's default). The simulator's request log, read over HTTPS, shows what the runs changed.
"""

from __future__ import annotations

import base64
import json
import queue
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from .subprocesses import stop_child

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.e2e

MUTATING = frozenset({"create", "update", "patch", "delete", "deletecollection"})

INI = """
[pytest]
addopts = --strict-markers -p no:cacheprovider
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
"""

SWITCHOVER = """
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]


class TestE2ESwitchover:
    async def test_single_switchover_cycle(self, asyncswitch_run):
        result = await asyncswitch_run(cycles=1)
        assert (result.successes, result.failures) == (1, 0)

    async def test_multi_cycle_switchover(self, asyncswitch_run, e2e_config):
        result = await asyncswitch_run()
        assert (result.successes, result.failures) == (e2e_config.cycles, 0)
"""

RESILIENCE = """
import json

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.resilience, pytest.mark.asyncio(loop_scope="session")]


async def test_a_cycle_goes_on_under_the_fault(asyncswitch_run, e2e_config):
    result = await asyncswitch_run(cycles=1, fault_hold=0.2)
    assert (result.successes, result.failures) == (1, 0)
    lines = (result.run_dir / "metrics.jsonl").read_text().splitlines()
    # A fault acts, or says why it found nothing to disturb at its moment (fault_skipped).
    faults = [r["scenario"] for r in map(json.loads, lines) if r["type"] in ("fault_injected", "fault_skipped")]
    wanted = [] if e2e_config.dry_run or not e2e_config.inject_failure else [e2e_config.inject_failure]
    assert faults == wanted
"""


class _Lines:
    """A child's stdout, read on a thread (so the pipe never fills), waited on line by line."""

    def __init__(self, stream: Any) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: Any) -> None:
        for line in stream:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def until(self, prefix: str) -> None:
        while (line := self._queue.get()) is not None:
            self.seen.append(line)
            if line.startswith(prefix):
                return
        raise AssertionError(f"the simulator ended before {prefix!r}: {self.seen}")


@dataclass(frozen=True)
class Sim:
    kubeconfig: Path

    def mutations(self, since: float) -> dict[str, list[str]]:
        """Each hub's applied writes since ``since`` (the simulated controllers write in-process, so
        every write in the log came over HTTP, from a pytest session's run)."""
        return {hub: [f"{r['verb']} {r['resource']}/{r['name']}" for r in records
                      if r["verb"] in MUTATING and r["status"] < 400
                      and not str(r["resource"]).startswith("selfsubjectaccessreviews")]
                for hub, records in self.requests(since).items()}

    def requests(self, since: float) -> dict[str, list[dict[str, Any]]]:
        config = yaml.safe_load(self.kubeconfig.read_text())
        clusters = {c["name"]: c["cluster"] for c in config["clusters"]}
        users = {u["name"]: u["user"] for u in config["users"]}
        found = {}
        for context in config["contexts"]:
            cluster, user = clusters[context["context"]["cluster"]], users[context["context"]["user"]]
            tls = ssl.create_default_context(cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())
            request = urllib.request.Request(f"{cluster['server']}/_emulator/requests?limit=100000",
                                             headers={"Authorization": f"Bearer {user['token']}"})
            with urllib.request.urlopen(request, context=tls) as response:
                body = json.load(response)
            found[context["name"]] = [r for r in body["items"] if r["time"] >= since]
        return found


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sim]:
    """``python -m asyncswitch sim`` (instant profile, 3 clusters) for the module's commands."""
    tmp = tmp_path_factory.mktemp("seed-sim")
    kubeconfig = tmp / "kubeconfig"
    with (tmp / "sim.stderr").open("w") as stderr, subprocess.Popen(
        [sys.executable, "-m", "asyncswitch", "sim", "--profile", "instant", "--clusters", "3", "--seed", "1",
         "--kubeconfig-out", str(kubeconfig)],
        stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL, text=True,
    ) as proc:
        try:
            _Lines(proc.stdout).until("serving")
            yield Sim(kubeconfig)
        finally:
            stop_child(proc, timeout=30)


@pytest.fixture
def project(pytester: pytest.Pytester, sim: Sim, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """The user's project: tests/e2e in the seed's layout; $KUBECONFIG holds mgmt1 and mgmt2 (hub-a, hub-b)."""
    pytester.makeini(INI)
    e2e = pytester.mkpydir("tests") / "e2e"
    e2e.mkdir()
    (e2e / "__init__.py").write_text("")
    (e2e / "test_e2e_switchover.py").write_text(SWITCHOVER)
    (e2e / "test_e2e_resilience.py").write_text(RESILIENCE)
    monkeypatch.setenv("KUBECONFIG", str(sim.kubeconfig))
    # The harness's one addition to the seed's commands: the simulator's observability operator reverts
    # in a second, not minutes, so the after-switchover compactor watch needs no 300 s here.
    monkeypatch.setenv("E2E_COMPACTOR_WATCH", "1")
    for name in ("E2E_PRIMARY_CONTEXT", "E2E_SECONDARY_CONTEXT", "E2E_KUBECONFIG", "E2E_OUTPUT_DIR", "E2E_CYCLES"):
        monkeypatch.delenv(name, raising=False)
    return pytester


HUBS = ("--primary-context=hub-a", "--secondary-context=hub-b")  # the seed's mgmt1, mgmt2
SWITCHOVER_TESTS = "tests/e2e/test_e2e_switchover.py"
SINGLE = f"{SWITCHOVER_TESTS}::TestE2ESwitchover::test_single_switchover_cycle"
MULTI = f"{SWITCHOVER_TESTS}::TestE2ESwitchover::test_multi_cycle_switchover"


def summary_of(result: pytest.RunResult) -> list[str]:
    """The closing summary's lines (after its "asyncswitch e2e" rule)."""
    lines = result.outlines
    start = next(i for i, line in enumerate(lines) if "asyncswitch e2e:" in line)
    return lines[start:]


def run_lines(result: pytest.RunResult) -> list[str]:
    lines = summary_of(result)
    start = lines.index("run directories:")
    return [line.strip() for line in lines[start + 1:] if line.startswith("  ")]


def test_ci_dry_run_changes_nothing_on_the_hubs(project: pytest.Pytester, sim: Sim,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # The command names no contexts: here they come from the environment, as CI would set them.
    monkeypatch.setenv("E2E_PRIMARY_CONTEXT", "hub-a")
    monkeypatch.setenv("E2E_SECONDARY_CONTEXT", "hub-b")
    since = time.time()

    result = project.runpytest_subprocess("-m", "e2e", "--e2e-dry-run", "tests/e2e/")

    result.assert_outcomes(passed=3)
    assert summary_of(result)[0].count("3 cycle(s): 3 succeeded, 0 failed") == 1
    assert sim.mutations(since) == {"hub-a": [], "hub-b": []}
    assert all(any(r["verb"] == "list" for r in served) for served in sim.requests(since).values())


def test_single_cycle_then_a_soak_that_starts_on_the_hub_now_active(project: pytest.Pytester, sim: Sim) -> None:
    since = time.time()
    single = project.runpytest_subprocess("-m", "e2e", *HUBS, SINGLE)

    single.assert_outcomes(passed=1)
    assert "1 cycle(s): 1 succeeded, 0 failed" in summary_of(single)[0]
    assert "first cycle hub-a -> hub-b" in run_lines(single)[0]
    assert sim.mutations(since)["hub-b"], "the cycle changed nothing on the new hub"

    # --e2e-cycles=20 in the seed; 3 here. hub-b is active now: the soak starts there.
    soak = project.runpytest_subprocess("-m", "e2e", *HUBS, "--e2e-cycles=3", MULTI)

    soak.assert_outcomes(passed=1)
    assert "3 cycle(s): 3 succeeded, 0 failed" in summary_of(soak)[0]
    assert "first cycle hub-b -> hub-a" in run_lines(soak)[0]


def test_time_limited_soak_then_resume_continues_its_run(project: pytest.Pytester) -> None:
    # --e2e-cycles=100 in the seed; 2, then 3 on resume, here.
    soak = project.runpytest_subprocess("-m", "e2e", *HUBS, "--e2e-cycles=2", "--e2e-run-hours=8",
                                        "--e2e-max-failures=5", MULTI)
    soak.assert_outcomes(passed=1)
    (soak_run,) = run_lines(soak)
    run_dir = Path(soak_run.split()[0])

    resumed = project.runpytest_subprocess("-m", "e2e", *HUBS, "--e2e-cycles=3", "--e2e-run-hours=8",
                                           "--e2e-resume", MULTI)

    resumed.assert_outcomes(passed=1)
    (resumed_run,) = run_lines(resumed)
    assert Path(resumed_run.split()[0]) == run_dir
    assert "3/3 succeeded" in resumed_run
    assert sorted(p.name for p in (run_dir / "cycles").iterdir()) == ["cycle-0001", "cycle-0002", "cycle-0003"]


def test_resilience_with_a_chosen_fault_and_phase(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess("-m", "e2e", *HUBS, "--e2e-inject-failure=pause-backup",
                                          "--e2e-inject-at-phase=activation", "tests/e2e/test_e2e_resilience.py")

    result.assert_outcomes(passed=1)
    assert "1 cycle(s): 1 succeeded, 0 failed" in summary_of(result)[0]


def test_random_faults_across_the_switchover_suite(project: pytest.Pytester) -> None:
    # --e2e-cycles=10 in the seed; 2 here.
    result = project.runpytest_subprocess("-m", "e2e", *HUBS, "--e2e-cycles=2", "--e2e-inject-failure=random",
                                          SWITCHOVER_TESTS)

    result.assert_outcomes(passed=2)
    assert "3 cycle(s): 3 succeeded, 0 failed" in summary_of(result)[0]
