"""The engine's typed event stream: everything the artifacts, histograms and display consume."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["EngineEvent"]


@dataclass(frozen=True)
class EngineEvent:
    """One record of the run. ``type`` is the metrics.jsonl record type."""

    type: str
    """run_start, cycle_start, phase_start, phase_result, cycle_end, step, wait, watch_event,
    cluster_reconnected, reaction, alert, fault_injected, fault_rolled_back, backup_set_stable, run_end."""
    run_id: str
    cycle_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    ts: float = field(default_factory=time.time)
    monotonic: float = field(default_factory=time.monotonic)

    def to_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {"type": self.type, "ts": self.ts, "run_id": self.run_id}
        if self.cycle_id is not None:
            record["cycle_id"] = self.cycle_id
        record.update(self.data)
        return record
