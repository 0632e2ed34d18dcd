"""The pytest plugin as a user's suite meets it (pytester runs a real pytest in a subprocess)."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

INI = """
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
"""


def test_the_plugin_registers_its_options_and_the_e2e_marker(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--help")
    result.stdout.fnmatch_lines(["*asyncswitch switchover cycles*", "*--asyncswitch-primary-context*"])
    markers = pytester.runpytest_subprocess("--markers")
    markers.stdout.fnmatch_lines(["*e2e: drives switchover cycles*"])


def test_an_e2e_test_runs_cycles_against_the_embedded_hubs(pytester: pytest.Pytester) -> None:
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
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_bad_plugin_options_are_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile("""
        def test_uses_config(asyncswitch_config):
            pass
    """)
    result = pytester.runpytest_subprocess("--asyncswitch-primary-context", "a")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert [line for line in result.stderr.lines if line] == [
        "ERROR: asyncswitch: give both --primary-context and --secondary-context, or neither for the simulated hubs"]
