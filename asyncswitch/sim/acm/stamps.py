"""Backup name stamps: ``<velero schedule>-<YYYYMMDDhhmmss>``, unique on the hub.

Simulated time is compressed, so two runs can fall in the same wall-clock second: a stamp
then moves one second on, past the last one used and past any backup the hub already lists
(including backups the other hub wrote and Velero synced)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from ..store import Store
from .kinds import BACKUP_NAMESPACE, VELERO_BACKUPS

__all__ = ["free_stamp"]

_FORMAT = "%Y%m%d%H%M%S"


def free_stamp(store: Store, schedules: Iterable[str], after: str = "") -> str:
    """A stamp later than ``after`` under which none of ``schedules`` has a backup on the hub yet."""
    names = list(schedules)
    stamp = datetime.now(UTC).strftime(_FORMAT)
    while stamp <= after or any(store.find(VELERO_BACKUPS, BACKUP_NAMESPACE, f"{s}-{stamp}") is not None
                                for s in names):
        last = datetime.strptime(max(stamp, after), _FORMAT).replace(tzinfo=UTC)
        stamp = (last + timedelta(seconds=1)).strftime(_FORMAT)
    return stamp
