"""The switchover pipeline: preflight, primary preparation, activation, post-activation
verification and finalization, resumable from a state file."""

from .errors import PhaseError, PreflightFailed, TemporaryPhaseError
from .events import PhaseResult, SwitchoverEvent
from .invariants import Invariant, InvariantReport, check_invariants
from .options import ActivationMethod, ArgocdMode, Method, OldHubAction, SwitchoverOptions, Timeouts
from .pipeline import SwitchoverReport, run_switchover
from .state import Phase, StateStore, SwitchoverState, default_state_path

__all__ = [
    "ActivationMethod",
    "ArgocdMode",
    "Invariant",
    "InvariantReport",
    "Method",
    "OldHubAction",
    "Phase",
    "PhaseError",
    "PhaseResult",
    "PreflightFailed",
    "StateStore",
    "SwitchoverEvent",
    "SwitchoverOptions",
    "SwitchoverReport",
    "SwitchoverState",
    "TemporaryPhaseError",
    "Timeouts",
    "check_invariants",
    "default_state_path",
    "run_switchover",
]
