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

__all__ = ["FAULT_SCENARIOS", "PHASE_NAMES", "STATE_MOMENTS", "RunConfig"]

FAULT_SCENARIOS = ("pause-backup", "delay-restore", "kill-observability-pod", "velero-restart",
                   "backup-operator-restart", "klusterlet-reconnect", "stale-auto-import", "bsl-unavailable",
                   "api-errors", "watch-drops", "argocd-resync", "random")
"""Every --inject-failure name (asyncswitch.engine.faults.REGISTRY has the scenarios, docs/faults.md their story)."""
STATE_MOMENTS = ("mc-restore-running", "mc-restore-done", "first-cluster-available", "new-schedule-enabled",
                 "new-backup-running")
"""The switchover states --inject-at can name (asyncswitch.engine.faults.triggers.STATE_TRIGGERS)."""
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
    """The faults of every cycle: comma-separated scenario names or ``random``, each optionally
    ``=SECONDS`` (its own duration), e.g. ``delay-restore=3,random``."""
    inject_at_phase: str | None = None
    """Fire every fault at the start of this phase; None: each at its scenario's own moment."""
    inject_at: str | None = None
    """Fire every fault at this moment: a state of the switchover (STATE_MOMENTS) or a phase."""
    fault_hold: float = 5.0
    """Seconds an injected fault stays before it is rolled back (unless its own duration is given)."""
    require_injection: bool = False
    """A cycle whose fault did not act (its target absent at its moment, its moment never came) fails."""
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
    hub_answer_timeout: float = 30.0
    """Seconds a hub has to give its first answer in a cycle (connect, then the first list of every
    watched kind); past it the cycle fails with the hub named, and the run goes on under its soak controls."""
    full_backup_stability: float = 600.0
    """Full method: seconds to wait for the new primary's backup set to be complete and stable."""
    metrics_port: int | None = None
    """Serve live OpenMetrics on this port during the run (0: any free port); None: no server."""
    metrics_host: str = "127.0.0.1"
    """The address the metrics server listens on (0.0.0.0 in a pod, for Prometheus to reach it)."""
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
        if not (math.isfinite(self.cooldown) and self.cooldown >= 0):
            raise ConfigError("--cooldown must be a finite number of seconds, 0 or more")
        if not (math.isfinite(self.hub_answer_timeout) and self.hub_answer_timeout > 0):
            raise ConfigError("--hub-answer-timeout must be a positive, finite number of seconds")
        if self.inject_failure is not None:
            for part in self.inject_failure.split(","):
                name, _, seconds = part.partition("=")
                if name.strip() not in FAULT_SCENARIOS:
                    raise ConfigError(f"--inject-failure: unknown scenario {part.strip()!r}; use "
                                      f"{', '.join(FAULT_SCENARIOS)} (comma-separated, each optionally =SECONDS)")
                if seconds and not _non_negative_number(seconds):
                    raise ConfigError(f"--inject-failure: {part.strip()!r}: the duration must be a finite number "
                                      "of seconds, 0 or more")
        if self.inject_failure is not None and self.dry_run:
            raise ConfigError("--dry-run changes nothing on the hubs, so --inject-failure would be skipped: "
                              "give one or the other")
        if self.inject_at is not None and self.inject_at not in (*STATE_MOMENTS, *PHASE_NAMES):
            raise ConfigError(f"--inject-at must be one of {', '.join((*STATE_MOMENTS, *PHASE_NAMES))}")
        if self.inject_at is not None and self.inject_at_phase is not None:
            raise ConfigError("give --inject-at or --inject-at-phase, not both")
        if self.inject_at_phase is not None and self.inject_at_phase not in PHASE_NAMES:
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
        if not (math.isfinite(self.fault_hold) and self.fault_hold >= 0):
            raise ConfigError("--fault-duration must be a finite number of seconds, 0 or more")
        if self.metrics_port is not None and not 0 <= self.metrics_port <= 65535:
            raise ConfigError(f"--metrics-port must be a port number (0-65535), not {self.metrics_port}")
        if not self.metrics_host:
            raise ConfigError("--metrics-host must name an address to listen on")
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
                       "inject_failure", "inject_at_phase", "inject_at", "metrics_port"})
_ENUMS: dict[str, type[Enum]] = {"method": Method, "activation_method": ActivationMethod,
                                 "old_hub_action": OldHubAction, "argocd": ArgocdMode}
_KINDS: dict[str, tuple[type, ...]] = {"int": (int,), "float": (int, float), "bool": (bool,), "str": (str,)}


def _non_negative_number(text: str) -> bool:
    try:
        value = float(text)
    except ValueError:
        return False
    return math.isfinite(value) and value >= 0


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
