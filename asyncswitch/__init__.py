"""asyncswitch: prove that a Red Hat ACM hub switchover works, repeatedly and measured.

    import asyncswitch

    async with asyncswitch.SimulatedHubPair() as pair, \\
            asyncswitch.Engine(asyncswitch.RunConfig(cycles=3), hub_pair=pair) as engine:
        result = await engine.run()

The heavier names are imported on first use, so ``import asyncswitch`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import AsyncswitchError, ConfigError

if TYPE_CHECKING:
    from .config import RunConfig
    from .runner import Engine, RunResult
    from .sim.acm import SimConfig, SimulatedHubPair
    from .switchover import InvariantReport, check_invariants

__all__ = ["AsyncswitchError", "ConfigError", "Engine", "InvariantReport", "RunConfig", "RunResult", "SimConfig",
           "SimulatedHubPair", "__version__", "check_invariants"]

__version__ = "0.1.0"

_LAZY = {
    "RunConfig": ".config", "Engine": ".runner", "RunResult": ".runner",
    "SimConfig": ".sim.acm", "SimulatedHubPair": ".sim.acm",
    "InvariantReport": ".switchover", "check_invariants": ".switchover",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module 'asyncswitch' has no attribute {name!r}")
