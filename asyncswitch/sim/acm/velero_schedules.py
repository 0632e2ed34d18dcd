"""Simulated Velero schedule controller on one hub.

- A new Velero Schedule is validated (its cron parses) and goes Enabled, or FailedValidation.
- An unpaused, Enabled Schedule creates a Backup ``<schedule>-<stamp>`` every cron period
  (scaled by the profile), labelled with the Schedule's labels plus ``velero.io/schedule-name``
  and with the Schedule's template as spec, and records ``status.lastBackup``. The period
  counts from the Schedule's first sight (the backup operator took the first backups itself)
  or its last run, so a Schedule unpaused after a missed run fires at once.
- Schedules that fall due in the same pass share one stamp.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from ..errors import ApiError
from .context import SimHub, SimWorld
from .cron import cron_error, cron_period_seconds
from .kinds import BACKUP_NAMESPACE, VELERO_BACKUPS, VELERO_SCHEDULE_LABEL, VELERO_SCHEDULES
from .ops import now_iso, patch_status
from .stamps import free_stamp

__all__ = ["VeleroScheduleController", "backup_from_schedule"]


def backup_from_schedule(schedule: dict[str, Any], stamp: str) -> dict[str, Any]:
    """The Backup a Velero Schedule makes: the Schedule's labels plus its name, its template as spec."""
    meta = schedule["metadata"]
    return {
        "apiVersion": "velero.io/v1", "kind": "Backup",
        "metadata": {"name": f"{meta['name']}-{stamp}", "namespace": meta["namespace"],
                     "labels": {**(meta.get("labels") or {}), VELERO_SCHEDULE_LABEL: meta["name"]}},
        "spec": dict((schedule.get("spec") or {}).get("template") or {}),
    }


class VeleroScheduleController:
    def __init__(self, hub: SimHub, world: SimWorld) -> None:
        self.hub = hub
        self.world = world
        self.store = hub.store
        self._wake = asyncio.Event()
        self._last: dict[str, float] = {}
        """Schedule uid → wall time of its last run (or of its first sight)."""
        self._last_stamp = ""

    async def run(self) -> None:
        self.world.spawn(self._watch(), f"sim:{self.hub.name}:velero:schedules")
        while True:
            self._wake.clear()
            delay = self._pass()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()

    async def _watch(self) -> None:
        with self.store.watch(VELERO_SCHEDULES, BACKUP_NAMESPACE) as watch:
            async for _ in watch:
                self._wake.set()

    def _pass(self) -> float | None:
        """Validate new Schedules and run the due ones; returns real seconds until the next is due."""
        now = time.time()
        schedules = self.store.list(VELERO_SCHEDULES, BACKUP_NAMESPACE).items
        present = {s.obj["metadata"]["uid"] for s in schedules}
        for uid in set(self._last) - present:
            del self._last[uid]
        due: list[dict[str, Any]] = []
        next_in: float | None = None
        for stored in schedules:
            obj = stored.obj
            spec = obj.get("spec") or {}
            phase = (obj.get("status") or {}).get("phase")
            if not phase:
                error = cron_error(str(spec.get("schedule") or ""))
                phase = "FailedValidation" if error else "Enabled"
                patch_status(self.store, VELERO_SCHEDULES, BACKUP_NAMESPACE, stored.name, {
                    "phase": phase, **({"validationErrors": [f"invalid schedule: {error}"]} if error else {})})
            last = self._last.setdefault(obj["metadata"]["uid"], now)
            if phase != "Enabled" or spec.get("paused"):
                continue
            period = self.world.clock.cron_period(cron_period_seconds(str(spec.get("schedule") or "")))
            if now >= last + period:
                due.append(obj)
                self._last[obj["metadata"]["uid"]] = now
                wait = period
            else:
                wait = last + period - now
            next_in = wait if next_in is None else min(next_in, wait)
        if due:
            self._last_stamp = free_stamp(self.store, (o["metadata"]["name"] for o in due), self._last_stamp)
            for obj in due:
                with contextlib.suppress(ApiError):  # namespace going away
                    self.store.create(VELERO_BACKUPS, BACKUP_NAMESPACE, backup_from_schedule(obj, self._last_stamp))
                patch_status(self.store, VELERO_SCHEDULES, BACKUP_NAMESPACE, obj["metadata"]["name"],
                             {"lastBackup": now_iso()})
        return next_in
