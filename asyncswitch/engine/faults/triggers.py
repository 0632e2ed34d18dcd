"""When a fault fires: at the start of a phase, or when the monitors see a state of the switchover.

State triggers read the records the cycle's monitors publish (``watch_event``,
``cluster_reconnected``), so a fault lands on the switchover while it is doing the thing the fault
disturbs, not at a phase boundary where its target may already be gone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["FIRST_CLUSTER_AVAILABLE", "MC_RESTORE_DONE", "MC_RESTORE_RUNNING", "NEW_BACKUP_RUNNING",
           "NEW_SCHEDULE_ENABLED", "STATE_TRIGGERS", "Trigger", "at_phase", "trigger_named"]

Match = Callable[[str, dict[str, Any], str], bool]
"""(record type, record data, the cycle's new hub) → whether this record is the moment."""


@dataclass(frozen=True)
class Trigger:
    name: str
    """``phase:<phase>`` or the name of a state trigger."""
    description: str
    phase: str | None = None
    match: Match | None = None

    def by_phase(self, phase: str) -> bool:
        return self.phase == phase

    def by_record(self, record_type: str, data: dict[str, Any], new_hub: str) -> bool:
        return self.match is not None and self.match(record_type, data, new_hub)


def at_phase(phase: str) -> Trigger:
    return Trigger(f"phase:{phase}", f"the start of {phase}", phase=phase)


def _watched(kind: str, phase: str, name_part: str = "") -> Match:
    def match(record_type: str, data: dict[str, Any], new_hub: str) -> bool:
        return (record_type == "watch_event" and data.get("hub") == new_hub and data.get("kind") == kind
                and data.get("event") != "DELETED" and data.get("phase") == phase
                and name_part in str(data.get("name") or ""))
    return match


# A Velero restore's phases (New, InProgress, Completed, ...) never occur on an ACM Restore (Started,
# Running, Enabled, Finished, ...), so kind "Restore" plus the phase tells the two apart.
MC_RESTORE_RUNNING = Trigger("mc-restore-running", "the managed-clusters Velero restore InProgress on the new hub",
                             match=_watched("Restore", "InProgress", "managed-clusters"))
MC_RESTORE_DONE = Trigger("mc-restore-done", "the managed-clusters Velero restore Completed on the new hub",
                          match=_watched("Restore", "Completed", "managed-clusters"))
NEW_SCHEDULE_ENABLED = Trigger("new-schedule-enabled", "the new hub's BackupSchedule Enabled",
                               match=_watched("BackupSchedule", "Enabled"))

NEW_BACKUP_RUNNING = Trigger("new-backup-running", "the new hub's first managed-clusters backup InProgress",
                             match=_watched("Backup", "InProgress", "managed-clusters"))


def _first_cluster(record_type: str, data: dict[str, Any], new_hub: str) -> bool:
    return record_type == "cluster_reconnected" and data.get("hub") == new_hub


FIRST_CLUSTER_AVAILABLE = Trigger("first-cluster-available", "the first managed cluster Available on the new hub",
                                  match=_first_cluster)

STATE_TRIGGERS = {t.name: t for t in (MC_RESTORE_RUNNING, MC_RESTORE_DONE, FIRST_CLUSTER_AVAILABLE,
                                      NEW_SCHEDULE_ENABLED, NEW_BACKUP_RUNNING)}
"""The moments ``--inject-at`` names, in the order a switchover reaches them."""


def trigger_named(moment: str) -> Trigger:
    """A phase name, or a state trigger's name."""
    return STATE_TRIGGERS.get(moment) or at_phase(moment)
