"""``--resume``: roll back every fault the killed process held, before anything else runs."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ...kube import Hub, HubApiError
from .base import Aim, FaultContext
from .journal import FaultJournal
from .registry import REGISTRY

__all__ = ["replay_journal"]


async def replay_journal(journal: FaultJournal, *, kubeconfig: Path | None, embedded: bool,
                         publish: Callable[[str, dict[str, Any]], None]) -> int:
    """Roll back the journal's held faults; returns how many there were. On the embedded pair the hubs
    the faults were made on died with the killed process, so there is nothing left to undo."""
    pending = await asyncio.to_thread(journal.pending)  # file I/O off the loop, like the journal's writes
    for entry in pending:
        record = {"scenario": entry["scenario"], "fault_id": entry["id"], "hub": entry["hub"],
                  "target": entry["target"], "replayed": True}
        if embedded or kubeconfig is None:
            await journal.released(entry["id"])
            publish("fault_rolled_back", {**record, "success": True, "back": True,
                                          "message": "the simulated hubs it was made on ended with the killed process"})
            continue
        scenario = REGISTRY.get(entry["scenario"])
        aim = Aim(entry["hub"], entry["target"], dict(entry.get("undo") or {}))
        try:
            async with Hub.connect(kubeconfig, entry["new_hub"]) as new, \
                    Hub.connect(kubeconfig, entry["old_hub"]) as old:
                ctx = FaultContext(new_hub=new, old_hub=old, sim=None, rng=random.Random(0))
                message = await scenario.undo(ctx, aim) if scenario is not None else "unknown scenario"
        except HubApiError as exc:
            publish("fault_rolled_back", {**record, "success": False, "back": False,
                                          "message": f"roll-back from the journal failed: {exc}"})
            continue
        await journal.released(entry["id"])
        publish("fault_rolled_back", {**record, "success": True, "back": True, "message": message})
    return len(pending)
