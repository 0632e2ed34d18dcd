"""RunConfig: every option of ``python -m asyncswitch run``, validated once at the edge."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, fields, replace
from enum import Enum
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .switchover.options import ActivationMethod, ArgocdMode, Method, OldHubAction, Timeouts

__all__ = ["FAULT_SCENARIOS", "PHASE_NAMES", "RunConfig"]

FAULT_SCENARIOS = ("pause-backup", "delay-restore", "kill-observability-pod", "random")
PHASE_NAMES = ("preflight", "primary_preparation", "activation", "post_activation_verification", "finalization")


@dataclass(frozen=True)
class RunConfig:
    """A run of switchover cycles. Defaults are the embedded newcomer's run."""

    kubeconfig: Path | None = None
    """Kubeconfig with both contexts; None with no contexts means the embedded simulated pair."""
    primary_context: str | None = None
    secondary_context: str | None = None
    method: Method = Method.PASSIVE
    activation_method: ActivationMethod = ActivationMethod.PATCH
    old_hub_action: OldHubAction = OldHubAction.SECONDARY
    cycles: int = 3
    """Switchover cycles to run; the hubs swap roles after each cycle that moved the fleet."""
    run_hours: float | None = None
    """Start no cycle after this many hours (a cycle in flight finishes)."""
    max_failures: int | None = None
    """Stop after this many failed cycles."""
    stop_on_failure: bool = False
    cooldown: float = 0.0
    """Seconds between cycles."""
    resume: Path | None = None
    """A run directory to continue (same run_id, cycle numbering and histograms)."""
    inject_failure: str | None = None
    """A fault scenario (pause-backup, delay-restore, kill-observability-pod, random), one per cycle."""
    inject_at_phase: str = "activation"
    fault_hold: float = 5.0
    """Seconds an injected fault stays before it is rolled back."""
    dry_run: bool = False
    output_dir: Path = Path("runs")
    log_format: str = "console"
    progress: bool = True
    sim_clusters: int = 20
    sim_profile: str = "fast"
    sim_acm_version: str = "2.14.2"
    """ACM version of the embedded simulated hubs, or "hub-a's,hub-b's" (2.11 to 2.17)."""
    seed: int = 0
    min_managed_clusters: int = 0
    min_cluster_share: float = 1.0
    """Share of the managed clusters that must be Available and Joined on the new hub (0 < share <= 1)."""
    argocd: ArgocdMode = ArgocdMode.WARN
    """Argo CD Applications auto-syncing ACM resources: pause, warn or refuse."""
    manage_auto_import_strategy: bool = False
    """ACM 2.14+: ImportAndSync on the new hub during each switchover, reset afterwards."""
    timeouts: Timeouts = field(default_factory=Timeouts)
    full_backup_stability: float = 600.0
    """Full method: seconds to wait for the new primary's backup set to be complete and stable."""
    record_events: bool = False
    """One metrics.jsonl line per watch event and per reaction; without it, one tally per cycle."""
    gc_between_cycles: bool = False
    """Full garbage collections only between cycles, so none stalls a cycle (asyncswitch.engine.heap).
    ``python -m asyncswitch run`` sets it; a library host that tunes its own collector leaves it off."""

    def __post_init__(self) -> None:
        _check_types(self)
        if (self.primary_context is None) != (self.secondary_context is None):
            raise ConfigError("give both --primary-context and --secondary-context, or neither for the simulated hubs")
        if self.primary_context is not None and self.primary_context == self.secondary_context:
            raise ConfigError("--primary-context and --secondary-context must name two different hubs")
        if self.cycles < 1:
            raise ConfigError("--cycles must be at least 1")
        if self.run_hours is not None and not (self.run_hours > 0 and math.isfinite(self.run_hours)):
            raise ConfigError("--run-hours must be a positive number")
        if self.max_failures is not None and self.max_failures < 1:
            raise ConfigError("--max-failures must be at least 1")
        if self.cooldown < 0:
            raise ConfigError("--cooldown must not be negative")
        if self.inject_failure is not None and self.inject_failure not in FAULT_SCENARIOS:
            raise ConfigError(f"--inject-failure must be one of {', '.join(FAULT_SCENARIOS)}")
        if self.inject_at_phase not in PHASE_NAMES:
            raise ConfigError(f"--inject-at-phase must be one of {', '.join(PHASE_NAMES)}")
        if self.log_format not in ("json", "console"):
            raise ConfigError("--log-format must be json or console")
        if self.sim_clusters < 0:
            raise ConfigError("--sim-clusters must not be negative")
        if self.sim_profile not in ("instant", "fast", "realistic"):
            raise ConfigError("--sim-profile must be instant, fast or realistic")
        if self.activation_method is ActivationMethod.RESTORE and self.method is not Method.PASSIVE:
            raise ConfigError("--activation-method restore applies to --method passive only")
        if not 0.0 < self.min_cluster_share <= 1.0:
            raise ConfigError("--min-cluster-share must be above 0 and at most 1")
        if self.fault_hold < 0:
            raise ConfigError("fault hold must not be negative")
        if self.old_hub_action is OldHubAction.DECOMMISSION and self.cycles > 1 and not self.dry_run:
            raise ConfigError("--old-hub-action decommission removes ACM from the old hub, so no later cycle can "
                              "move the fleet back: give --cycles 1")

    @property
    def caveats(self) -> list[str]:
        """Choices that are valid but will probably fail later cycles, to say before the run starts."""
        if (self.old_hub_action is OldHubAction.NONE and self.method is Method.PASSIVE and self.cycles > 1
                and not self.dry_run):
            return ["--old-hub-action none sets up no passive restore on the old hub, so the next passive cycle "
                    "fails its preflight unless something else (GitOps) creates one"]
        return []

    @property
    def embedded(self) -> bool:
        """No contexts given: run against the embedded simulated hub pair."""
        return self.primary_context is None

    def with_contexts(self, kubeconfig: Path, primary: str, secondary: str) -> RunConfig:
        return replace(self, kubeconfig=kubeconfig, primary_context=primary, secondary_context=secondary)

    def to_json(self) -> dict[str, Any]:
        """The inputs as the manifest records them (no secrets: a kubeconfig is named, never read)."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, Path):
                value = str(value)
            elif isinstance(value, Method | ActivationMethod | OldHubAction | ArgocdMode):
                value = value.value
            elif isinstance(value, Timeouts):
                value = dict(vars(value))
            out[name] = value
        return out


_PATHS = frozenset({"kubeconfig", "resume", "output_dir"})
_OPTIONAL = frozenset({"kubeconfig", "resume", "primary_context", "secondary_context", "run_hours", "max_failures",
                       "inject_failure"})
_ENUMS: dict[str, type[Enum]] = {"method": Method, "activation_method": ActivationMethod,
                                 "old_hub_action": OldHubAction}
_KINDS: dict[str, tuple[type, ...]] = {"int": (int,), "float": (int, float), "bool": (bool,), "str": (str,)}


def _check_types(config: RunConfig) -> None:
    """Paths may come as str or PathLike, enums as their values; anything else of the wrong type is a
    ConfigError naming the field (a TypeError deep inside the run helps nobody)."""
    for spec in fields(config):
        name, value = spec.name, getattr(config, spec.name)
        if value is None and name in _OPTIONAL:
            continue
        if name in _PATHS:
            if not isinstance(value, str | os.PathLike) or isinstance(value, bytes):
                raise ConfigError(f"RunConfig.{name} must be a path (str or os.PathLike), not {type(value).__name__}")
            object.__setattr__(config, name, Path(value))
        elif name in _ENUMS:
            enum = _ENUMS[name]
            try:
                object.__setattr__(config, name, enum(value))
            except ValueError:
                raise ConfigError(f"RunConfig.{name} must be one of {', '.join(str(m.value) for m in enum)}, "
                                  f"not {value!r}") from None
        elif name == "timeouts":
            if not isinstance(value, Timeouts):
                raise ConfigError(f"RunConfig.timeouts must be a Timeouts, not {type(value).__name__}")
        else:
            kind = str(spec.type).removesuffix(" | None")
            allowed = _KINDS.get(kind)
            if allowed is not None and (not isinstance(value, allowed) or (kind != "bool" and isinstance(value, bool))):
                raise ConfigError(f"RunConfig.{name} must be {'a' if kind != 'int' else 'an'} {kind}, "
                                  f"not {type(value).__name__}")
