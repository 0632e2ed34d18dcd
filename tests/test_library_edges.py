"""The library's entry points take what a Python caller naturally passes, and say clearly what they refuse."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

import asyncswitch
from asyncswitch.sim.acm import SimConfig, SimulatedHubPair, profile_named
from asyncswitch.switchover.options import ActivationMethod, ArgocdMode, Method, OldHubAction


class _Dir(os.PathLike[str]):
    """A PathLike that is not a Path (as pytest's py.path or a caller's own class would be)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __fspath__(self) -> str:
        return str(self.path)


async def test_a_run_writes_under_an_output_dir_given_as_a_str(tmp_path: Path) -> None:
    config = asyncswitch.RunConfig(output_dir=str(tmp_path / "runs"), cycles=1, sim_clusters=3,
                                   sim_profile="instant", progress=False)
    async with SimulatedHubPair(SimConfig(clusters=3, profile=profile_named("instant"), seed=1)) as pair, \
            asyncswitch.Engine(config, hub_pair=pair) as engine:
        result = await engine.run()

    assert result.successes == 1
    assert result.run_dir.parent == tmp_path / "runs"
    assert (result.run_dir / "summary.json").exists()


@pytest.mark.parametrize("field", ["output_dir", "kubeconfig", "resume"])
@pytest.mark.parametrize("kind", [str, _Dir])
def test_every_path_field_takes_a_str_or_a_pathlike(tmp_path: Path, field: str, kind: Any) -> None:
    extra: dict[str, Any] = {"primary_context": "a", "secondary_context": "b"} if field == "kubeconfig" else {}
    config = asyncswitch.RunConfig(**{field: kind(tmp_path / "x")}, **extra)
    assert getattr(config, field) == tmp_path / "x"
    assert isinstance(getattr(config, field), Path)


@pytest.mark.parametrize(("field", "value"), [
    ("output_dir", 3), ("kubeconfig", b"kc"), ("resume", ["runs"]), ("cycles", "3"), ("cycles", 2.0),
    ("cycles", True), ("cooldown", "30"), ("dry_run", "yes"), ("primary_context", 1), ("sim_profile", None),
    ("method", "sideways"), ("timeouts", {}),
])
def test_a_wrong_type_is_a_config_error_that_names_the_field(field: str, value: Any) -> None:
    with pytest.raises(asyncswitch.ConfigError, match=rf"^RunConfig\.{field} must be "):
        asyncswitch.RunConfig(**{field: value})


def test_enum_fields_take_their_values_as_str() -> None:
    config = asyncswitch.RunConfig(method="full", old_hub_action="none", activation_method="patch",  # type: ignore[arg-type]
                                   argocd="pause")  # type: ignore[arg-type]
    assert (config.method, config.old_hub_action, config.activation_method, config.argocd) == (
        Method.FULL, OldHubAction.NONE, ActivationMethod.PATCH, ArgocdMode.PAUSE)
    assert config.argocd is ArgocdMode.PAUSE  # a str enum equals its value: only `is` tells them apart


@pytest.mark.parametrize(("config", "pair", "message"), [
    ({"cycles": 1}, None, "Engine needs a RunConfig, not dict"),
    (None, object(), "hub_pair must be a simulated hub pair (with write_kubeconfig), not object"),
])
def test_the_engine_refuses_what_it_cannot_run(config: Any, pair: Any, message: str) -> None:
    with pytest.raises(asyncswitch.ConfigError, match=re.escape(message)):
        asyncswitch.Engine(asyncswitch.RunConfig() if config is None else config, hub_pair=pair)


@pytest.mark.parametrize(("knobs", "message"), [
    ({"clusters": "3"}, "SimConfig.clusters must be int, not str"),
    ({"clusters": True}, "SimConfig.clusters must be int, not bool"),
    ({"profile": "fast"}, "SimConfig.profile must be TimingProfile, not str (use profile_named('fast')"),
    ({"acm_version": 2.14}, "SimConfig.acm_version must be str or tuple or list, not float"),
    ({"acm_version": "2.9"}, "SimConfig.acm_version: ACM version 2.9 is not simulated"),
    ({"acm_version": ("2.14", "2.15", "2.16")}, "SimConfig.acm_version is one version, or two"),
    ({"hive_share": 2}, "SimConfig.hive_share must be between 0 and 1"),
    ({"bookmark_interval": 0}, "SimConfig.bookmark_interval must be positive"),
])
def test_the_simulated_pair_names_the_knob_it_refuses(knobs: dict[str, Any], message: str) -> None:
    with pytest.raises(asyncswitch.ConfigError, match=re.escape(message)):
        SimConfig(**knobs)


def test_the_simulated_pair_takes_a_sim_config_only() -> None:
    with pytest.raises(asyncswitch.ConfigError, match="SimulatedHubPair takes a SimConfig, not dict"):
        SimulatedHubPair({"clusters": 3})  # type: ignore[arg-type]
