"""The library's entry points take what a Python caller naturally passes, and say clearly what they refuse."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import asyncswitch
from asyncswitch.sim.acm import SimConfig, SimulatedHubPair, profile_named


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
