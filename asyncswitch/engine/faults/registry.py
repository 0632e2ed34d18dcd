"""Every scenario by name, and a cycle's plan: which faults, at which moment, held how long."""

from __future__ import annotations

import random
from dataclasses import dataclass

from ...errors import ConfigError
from .base import Scenario
from .hub_scenarios import HUB_SCENARIOS
from .sim_scenarios import SIM_SCENARIOS
from .triggers import Trigger, trigger_named

__all__ = ["REGISTRY", "PlannedFault", "parse_fault_spec", "plan_cycle"]

REGISTRY: dict[str, Scenario] = {s.name: s for s in (*HUB_SCENARIOS, *SIM_SCENARIOS)}


@dataclass(frozen=True)
class PlannedFault:
    scenario: Scenario
    trigger: Trigger
    duration: float
    """Seconds the fault is held before its roll-back (cut short when the switchover ends)."""


def parse_fault_spec(spec: str) -> list[tuple[str, float | None]]:
    """``--inject-failure``: comma-separated scenario names or ``random``, each optionally ``=SECONDS``."""
    out: list[tuple[str, float | None]] = []
    for part in (p.strip() for p in spec.split(",")):
        name, _, seconds = part.partition("=")
        name = name.strip()
        if name != "random" and name not in REGISTRY:
            raise ConfigError(f"--inject-failure: unknown scenario {name!r}; use random or one of "
                              f"{', '.join(sorted(REGISTRY))}")
        duration: float | None = None
        if seconds:
            try:
                duration = float(seconds)
            except ValueError:
                raise ConfigError(f"--inject-failure: {part!r}: the duration must be seconds") from None
            if not duration >= 0:
                raise ConfigError(f"--inject-failure: {part!r}: the duration must not be negative")
        out.append((name, duration))
    return out


def refusal_on_real_hubs(spec: str) -> str | None:
    """One line saying why a named scenario cannot run on real hubs, or None."""
    for name, _ in parse_fault_spec(spec):
        scenario = REGISTRY.get(name)
        if scenario is not None and scenario.needs_sim:
            return f"--inject-failure {name} runs on the simulated hubs only: {scenario.refusal}"
    return None


def plan_cycle(spec: str, *, rng: random.Random, default_duration: float, at: str | None, method: str,
               old_hub_action: str, argocd: str, simulated: bool) -> list[PlannedFault]:
    """The faults of one cycle. ``random`` picks, seeded, among the scenarios that apply to the run
    (its method and old-hub action, and the simulator-only ones only on simulated hubs), never one
    already in the plan, nor one that leaves the hubs needing a repair before the next switchover."""
    chosen: list[tuple[Scenario, float | None]] = []
    for name, duration in parse_fault_spec(spec):
        if name == "random":
            taken = {s.name for s, _ in chosen} | {n for n, _ in parse_fault_spec(spec)}
            pool = [s for s in REGISTRY.values() if s.name not in taken and not s.needs_repair
                    and (simulated or not s.needs_sim)
                    and s.applies(method=method, old_hub_action=old_hub_action, argocd=argocd)]
            if pool:
                chosen.append((rng.choice(pool), duration))
        else:
            chosen.append((REGISTRY[name], duration))
    return [PlannedFault(s, trigger_named(at) if at else s.moment, default_duration if d is None else d)
            for s, d in chosen]
