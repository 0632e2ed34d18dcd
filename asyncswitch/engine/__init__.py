"""The cycle engine: switchover cycles, soak controls, monitors, fault injection, the event bus."""

from .bus import EventBus
from .cycles import CycleLoop, CycleOutcome, CycleRunner, RunState
from .events import EngineEvent
from .faults import SCENARIOS, FaultInjector
from .monitors import AlertThresholds, MonitorHealth, Monitors

__all__ = ["SCENARIOS", "AlertThresholds", "CycleLoop", "CycleOutcome", "CycleRunner", "EngineEvent", "EventBus",
           "FaultInjector", "MonitorHealth", "Monitors", "RunState"]
