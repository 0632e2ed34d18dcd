"""The cycle engine: switchover cycles, soak controls, monitors, fault injection, the event bus."""

from .bus import EventBus
from .cycles import CycleLoop, CycleOutcome, CycleRunner, RunState
from .events import EngineEvent
from .faults import SCENARIOS, CycleFaults, SimControls
from .monitors import AlertThresholds, MonitorHealth, Monitors

__all__ = ["SCENARIOS", "AlertThresholds", "CycleFaults", "CycleLoop", "CycleOutcome", "CycleRunner", "EngineEvent",
           "EventBus", "MonitorHealth", "Monitors", "RunState", "SimControls"]
