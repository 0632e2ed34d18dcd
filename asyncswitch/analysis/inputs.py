"""Which of two runs' inputs differ in a way that makes their timings unlike: what compare warns of,
and what analyze warns of when it merges runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["COMPARED_INPUTS", "InputDifference", "input_differences"]

COMPARED_INPUTS = ("primary_context", "secondary_context", "method", "activation_method", "old_hub_action",
                   "dry_run", "inject_failure", "inject_at_phase", "inject_at", "fault_hold", "min_managed_clusters",
                   "sim_clusters", "sim_profile")
"""Inputs that change what a cycle does or how long it takes; runs that differ in one are not comparable."""


@dataclass(frozen=True)
class InputDifference:
    name: str
    baseline: Any
    candidate: Any


def input_differences(first: dict[str, Any], second: dict[str, Any]) -> list[InputDifference]:
    """The COMPARED_INPUTS whose values differ. An input only one run records (no manifest.json, an
    older version) is unknown, not different."""
    return [InputDifference(name, first[name], second[name]) for name in COMPARED_INPUTS
            if name in first and name in second and first[name] != second[name]]
