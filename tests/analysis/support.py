"""What the analysis tests share: the command run in-process, copies of runs and histogram surgery."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hdrh.histogram import HdrHistogram

from asyncswitch.cli import main
from asyncswitch.metrics.histograms import new_histogram


@dataclass(frozen=True)
class Runs:
    passed: Path
    """2 cycles, both succeeded."""
    failed: Path
    """2 cycles with the same inputs; cycle-0002 failed its preflight."""


@dataclass(frozen=True)
class Timed:
    """8-cycle runs on a shortened fast profile, made side by side (see conftest)."""

    seed_1: Path
    seed_2: Path
    """The same inputs as seed_1 but the seed."""
    slower_restores: Path
    """The simulated Velero restores forty times slower (seed 3)."""


@dataclass(frozen=True)
class Output:
    code: int
    out: str
    err: str

    def json(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.out)
        return document


def asyncswitch(capsys: pytest.CaptureFixture[str], *args: str | Path) -> Output:
    """``python -m asyncswitch *args``, in this process."""
    code = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return Output(code, captured.out, captured.err)


def copy_run(run_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(run_dir, tmp_path / run_dir.name))


def read_json(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def edit_json(path: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    document = read_json(path)
    edit(document)
    path.write_text(json.dumps(document))


def decode(path: Path) -> HdrHistogram:
    name = path.name.removesuffix(".hdr")
    histogram = new_histogram(name)
    histogram.decode_and_add(path.read_bytes())
    return histogram


def rewrite_histogram(path: Path, values: Callable[[HdrHistogram], list[tuple[int, int]]]) -> None:
    """Replace an encoded histogram by one holding ``values(old)``: (value, count) pairs in its units."""
    histogram = new_histogram(path.name.removesuffix(".hdr"))
    for value, count in values(decode(path)):
        histogram.record_value(value, count)
    path.write_bytes(histogram.encode())


def scaled(factor: int) -> Callable[[HdrHistogram], list[tuple[int, int]]]:
    """Every recorded value ``factor`` times larger."""

    def values(old: HdrHistogram) -> list[tuple[int, int]]:
        return [(item.value_iterated_to * factor, item.count_at_value_iterated_to)
                for item in old.get_recorded_iterator()]

    return values
