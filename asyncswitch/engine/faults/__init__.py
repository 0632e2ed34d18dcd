"""Fault injection: scenarios real hubs suffer, fired at the moment they bite, always rolled back,
and a verdict on every cycle that had one (docs/faults.md)."""

from .base import Aim, FaultContext, Scenario, SimControls
from .cycle_faults import CycleFaults
from .director import FaultDirector, FaultOutcome
from .journal import FaultJournal
from .registry import REGISTRY, PlannedFault, parse_fault_spec, plan_cycle, refusal_on_real_hubs
from .replay import replay_journal
from .summary import VERDICTS, fault_summary
from .verdict import DAMAGED, FAILED_SAFE, RECOVERED, Verdict, judge

SCENARIOS = tuple(REGISTRY)

__all__ = ["DAMAGED", "FAILED_SAFE", "RECOVERED", "REGISTRY", "SCENARIOS", "VERDICTS", "Aim", "CycleFaults",
           "FaultContext", "FaultDirector", "FaultJournal", "FaultOutcome", "PlannedFault", "Scenario", "SimControls",
           "Verdict", "fault_summary", "judge", "parse_fault_spec", "plan_cycle", "refusal_on_real_hubs",
           "replay_journal"]
