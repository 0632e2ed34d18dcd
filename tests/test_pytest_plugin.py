"""The pytest plugin as a user's suite meets it (pytester runs a real pytest in a subprocess)."""

from __future__ import annotations

import pytest

from asyncswitch.pytest_plugin.options import OPTIONS

pytest_plugins = ["pytester"]

INI = """
[pytest]
addopts = --strict-markers -p no:cacheprovider
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
"""

SEED_OPTIONS = ["--primary-context", "--secondary-context", "--e2e-cycles", "--e2e-dry-run", "--e2e-run-hours",
                "--e2e-max-failures", "--e2e-resume", "--e2e-inject-failure", "--e2e-inject-at-phase",
                "--e2e-kubeconfig", "--e2e-method", "--e2e-old-hub-action", "--e2e-cooldown", "--e2e-output-dir",
                "--e2e-sim-clusters", "--e2e-sim-profile"]


@pytest.fixture(autouse=True)
def no_e2e_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The inner sessions see only the variables a test sets."""
    for option in OPTIONS:
        monkeypatch.delenv(option.env, raising=False)


def errors(result: pytest.RunResult) -> list[str]:
    return [line for line in result.errlines if line]


def test_help_lists_the_seed_options_with_their_variables_and_the_old_names(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--help")
    help_text = "\n".join(result.outlines)
    assert "asyncswitch switchover cycles" in help_text
    missing = [flag for flag in SEED_OPTIONS if flag not in help_text]
    assert missing == []
    assert "[env E2E_CYCLES]" in help_text
    assert "--asyncswitch-primary-context" in help_text
    markers = pytester.runpytest_subprocess("--markers")
    markers.stdout.fnmatch_lines(["*e2e: drives switchover cycles*", "*resilience: *", "*soak: *"])


def test_an_e2e_test_off_the_session_loop_runs_cycles_on_a_pair_of_its_own(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile("""
        import pytest

        @pytest.mark.e2e
        async def test_two_cycles(asyncswitch_run, asyncswitch_config):
            assert asyncswitch_config.embedded
            result = await asyncswitch_run(cycles=2, sim_clusters=3, sim_profile="instant")
            assert (result.successes, result.failures) == (2, 0)
            assert (result.run_dir / "summary.json").exists()
    """)
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*asyncswitch e2e: 1 run(s), 2 cycle(s): 2 succeeded, 0 failed*",
                                 "phase *count*p50 (s)*p95 (s)*p99 (s)*max (s)", "preflight * 2 *",
                                 "finalization * 2 *", "run directories:", "*/e2e-runs/run-*  2/2 succeeded*"])


def test_the_session_pair_serves_every_test_on_the_session_loop_from_the_hub_now_active(
        pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile("""
        import pytest

        pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]
        seen = []

        async def test_one_cycle(asyncswitch_run, sim_hub_pair):
            seen.append(sim_hub_pair)
            assert [server.name for server in sim_hub_pair] == ["hub-a", "hub-b"]
            assert (await asyncswitch_run(cycles=1)).successes == 1

        async def test_the_next_finds_hub_b_active(asyncswitch_run, sim_hub_pair, e2e_roles):
            assert seen == [sim_hub_pair]
            assert e2e_roles == ("hub-b", "hub-a")
            assert (await asyncswitch_run(cycles=1)).successes == 1

        def test_clients_of_the_given_hubs(primary_client, secondary_client):
            assert (primary_client.context, secondary_client.context) == ("hub-a", "hub-b")
    """)
    result = pytester.runpytest_subprocess("--e2e-sim-clusters=3", "--e2e-sim-profile=instant")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*2 cycle(s): 2 succeeded, 0 failed*", "run directories:",
                                 "*1/1 succeeded, first cycle hub-a -> hub-b*test_one_cycle*",
                                 "*1/1 succeeded, first cycle hub-b -> hub-a*test_the_next_finds_hub_b_active*"])


def test_options_come_from_the_environment_below_the_command_line(pytester: pytest.Pytester,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makeini(INI)
    pytester.makepyfile("""
        def test_config(e2e_config):
            assert (e2e_config.cycles, e2e_config.dry_run, e2e_config.method.value) == (4, True, "full")
            assert e2e_config.inject_at_phase == "primary_preparation"
    """)
    monkeypatch.setenv("E2E_CYCLES", "7")
    monkeypatch.setenv("E2E_DRY_RUN", "yes")
    monkeypatch.setenv("E2E_METHOD", "full")
    monkeypatch.setenv("E2E_INJECT_AT_PHASE", "primary_prep")  # the prior tool's name for the phase
    result = pytester.runpytest_subprocess("--e2e-cycles=4")
    result.assert_outcomes(passed=1)


@pytest.mark.parametrize(("env", "args", "message"), [
    ({"E2E_CYCLES": "many"}, [], "ERROR: asyncswitch: E2E_CYCLES='many': must be a whole number"),
    ({"E2E_DRY_RUN": "maybe"}, [], "ERROR: asyncswitch: E2E_DRY_RUN='maybe': must be 1/true/yes or 0/false/no"),
    ({}, ["--e2e-cycles=0"], "ERROR: asyncswitch: --e2e-cycles='0': must be at least 1"),
    ({}, ["--e2e-inject-failure=flood"], "ERROR: asyncswitch: --e2e-inject-failure='flood': must be one of "
                                         "pause-backup, delay-restore, kill-observability-pod, velero-restart, "
                                         "backup-operator-restart, klusterlet-reconnect, stale-auto-import, "
                                         "bsl-unavailable, api-errors, watch-drops, argocd-resync, random "
                                         "(comma-separated, each optionally =SECONDS)"),
    ({}, ["--asyncswitch-primary-context", "a"],
     "ERROR: asyncswitch: give both --primary-context and --secondary-context, or neither for the simulated hubs"),
    ({}, ["--e2e-old-hub-action=decommission", "--e2e-cycles=2"],
     "ERROR: asyncswitch: --e2e-old-hub-action decommission removes ACM from the old hub, so no later cycle can move "
     "the fleet back: give --e2e-cycles 1"),
])
def test_a_bad_option_or_variable_is_a_usage_error_of_one_line(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], args: list[str],
        message: str) -> None:
    pytester.makeini(INI)
    pytester.makepyfile("def test_nothing(): pass")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = pytester.runpytest_subprocess(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert errors(result) == [message]


def test_one_way_actions_against_real_hubs_are_skipped_without_the_opt_in(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile("""
        import pytest

        @pytest.mark.e2e
        @pytest.mark.parametrize("action", ["decommission", "none"])
        async def test_one_way(asyncswitch_run, action):
            await asyncswitch_run(old_hub_action=action)
    """)
    result = pytester.runpytest_subprocess("--primary-context=a", "--secondary-context=b", "-rs",
                                           "--e2e-kubeconfig=no-such-kubeconfig")
    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines(["*removes ACM from the old hub: give --e2e-allow-one-way*",
                                 "*later passive cycles need: give --e2e-allow-one-way"])


def test_the_summary_lists_the_run_of_a_test_that_failed_after_it(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile("""
        import pytest

        @pytest.mark.e2e
        async def test_a_check_after_the_run_fails(e2e_engine_factory):
            async with e2e_engine_factory(cycles=1, sim_clusters=3, sim_profile="instant") as engine:
                await engine.run()
                raise AssertionError("the user's own check")
    """)
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*asyncswitch e2e: 1 run(s), 1 cycle(s): 1 succeeded, 0 failed*", "run directories:",
                                 "*/e2e-runs/run-*  1/1 succeeded, first cycle hub-a -> hub-b*"])


def test_help_works_whatever_the_environment_holds(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("E2E_CYCLES", "many")
    result = pytester.runpytest_subprocess("--help")
    assert result.ret == pytest.ExitCode.OK
    assert any("--e2e-cycles" in line for line in result.outlines)
