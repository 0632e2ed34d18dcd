"""The roll-back journal: a fault is written down (fsync'ed) before it is made, and crossed out once
rolled back, so a run killed while it held one (SIGKILL, power loss) rolls it back on ``--resume``.

One JSON object per line in ``<run>/fault_journal.jsonl``: ``{"op": "held", "id", "cycle_id",
"scenario", "hub", "new_hub", "old_hub", "target", "undo"}`` and ``{"op": "released", "id"}``.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

__all__ = ["FaultJournal"]


class FaultJournal:
    def __init__(self, path: Path) -> None:
        self.path = path

    def _append(self, entry: dict[str, Any]) -> None:
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")
            f.flush()
            os.fsync(f.fileno())

    async def held(self, entry: dict[str, Any]) -> None:
        await asyncio.to_thread(self._append, {"op": "held", **entry})

    async def released(self, fault_id: str) -> None:
        await asyncio.to_thread(self._append, {"op": "released", "id": fault_id})

    def pending(self) -> list[dict[str, Any]]:
        """The faults written down as held and never released, oldest first."""
        if not self.path.exists():
            return []
        held: dict[str, dict[str, Any]] = {}
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a line torn by the kill: the fault it was to record was never made
            if entry.get("op") == "held":
                held[str(entry["id"])] = entry
            elif entry.get("op") == "released":
                held.pop(str(entry.get("id")), None)
        return list(held.values())
