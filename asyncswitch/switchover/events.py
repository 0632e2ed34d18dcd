"""What a running switchover tells the engine: typed events on an asyncio queue, and phase results."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PhaseResult", "SwitchoverEvent", "monotonic_and_wall"]


def monotonic_and_wall() -> tuple[float, float]:
    return time.monotonic(), time.time()


@dataclass(frozen=True)
class SwitchoverEvent:
    """One thing that happened: a phase or step started or finished, a wait began or was satisfied,
    a transition observed on a hub."""

    kind: str
    """phase_started, phase_finished, step_started, step_finished, step_skipped, wait_started,
    wait_satisfied, transition, warning."""
    phase: str
    name: str = ""
    hub: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    monotonic: float = field(default_factory=time.monotonic)
    wall: float = field(default_factory=time.time)


@dataclass
class PhaseResult:
    """How one phase went, with client clocks and the server timestamps it saw."""

    phase: str
    started_monotonic: float
    started_wall: float
    ended_monotonic: float = 0.0
    ended_wall: float = 0.0
    outcome: str = "running"
    """running, succeeded, failed, skipped."""
    error: str | None = None
    server_timestamps: dict[str, str] = field(default_factory=dict)
    """e.g. the Velero restore's completionTimestamp, a condition's lastTransitionTime."""
    warnings: list[str] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return max(0.0, self.ended_monotonic - self.started_monotonic)

    def to_json(self) -> dict[str, Any]:
        return {
            "phase": self.phase, "outcome": self.outcome, "error": self.error, "duration_s": self.duration,
            "started_monotonic": self.started_monotonic, "ended_monotonic": self.ended_monotonic,
            "started_wall": self.started_wall, "ended_wall": self.ended_wall,
            "server_timestamps": dict(self.server_timestamps), "warnings": list(self.warnings),
        }
