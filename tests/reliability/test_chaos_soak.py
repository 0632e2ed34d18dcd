"""The chaos soak at a size CI affords (benchmarks/chaos_soak.py runs the long one, with 5 % of each): 2 % 503
and 2 % 429, slower requests, watches dropped and expired throughout. Every cycle passes, no create or delete is
applied twice (the hubs' request logs), and every 410 a watch was served is a recorded gap."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def _soak_script() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "chaos_soak.py"
    spec = importlib.util.spec_from_file_location("chaos_soak", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("chaos_soak", module)
    spec.loader.exec_module(module)
    return module


async def test_a_short_chaos_soak_passes_every_cycle_applies_nothing_twice_and_records_every_gap(
        tmp_path: Path) -> None:
    result = await _soak_script().soak(tmp_path, cycles=4, clusters=3, seed=3, latency=0.005, error_rate=0.02,
                                       retry_after=None)

    assert (result.cycles, result.passed) == (4, 4)
    assert result.applied_twice == []
    assert result.expiries_served > 0
    assert result.unrecorded_gaps == 0
