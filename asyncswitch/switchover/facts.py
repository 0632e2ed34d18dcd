"""Pure readings of hub objects the phases share: conditions, restore outcomes, backup ownership."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from .names import AVAILABLE, BACKUP_TYPE_LABEL, JOINED, LOCAL_CLUSTER

__all__ = [
    "RESTORE_FAILED",
    "RESTORE_INERT",
    "RESTORE_TRANSIENT",
    "acm_owned",
    "backup_type",
    "benign_finished_with_errors",
    "condition_status",
    "connected",
    "cron_period_seconds",
    "managed_clusters",
    "parse_time",
    "passive_restore_problem",
    "phase",
    "restore_outcome",
    "version_at_least",
]

Obj = Mapping[str, Any]

RESTORE_FAILED = frozenset({"Error", "EnabledWithErrors", "Failed", "PartiallyFailed", "FailedWithErrors"})
"""Restore phases that are failures at once: Error, and EnabledWithErrors (2.17+, a sync whose Velero
restores fail). Failed, PartiallyFailed and FailedWithErrors are Velero's words, never an ACM Restore's,
and are kept only so that a hub reporting them is not waited on."""
RESTORE_INERT = frozenset({"Finished", "FinishedWithErrors"})
"""The operator never processes a Restore in these phases again (acm-operator-facts §1.1 step 3)."""
RESTORE_TRANSIENT = frozenset({"", "Started", "Running", "Unknown", "Pending"})
_ACM_NAME = re.compile(r"^acm-(managed-clusters|credentials|resources)-")


def phase(obj: Obj | None) -> str:
    return str(((obj or {}).get("status") or {}).get("phase") or "")


def condition_status(obj: Obj, kind: str) -> str | None:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == kind:
            return str(c.get("status"))
    return None


def managed_clusters(objects: Mapping[str, Obj]) -> dict[str, Obj]:
    """The non-local ManagedClusters of a set."""
    return {k: v for k, v in objects.items() if (v.get("metadata") or {}).get("name") != LOCAL_CLUSTER}


def connected(obj: Obj) -> bool:
    return condition_status(obj, AVAILABLE) == "True" and condition_status(obj, JOINED) == "True"


def benign_finished_with_errors(obj: Obj) -> bool:
    """FinishedWithErrors is success when every message says the clusters were already there."""
    messages = (obj.get("status") or {}).get("messages") or []
    return phase(obj) == "FinishedWithErrors" and bool(messages) and all(
        "already available" in str(m) for m in messages)


def restore_outcome(obj: Obj | None, *, passive: bool) -> str:
    """done, failed or waiting, for an ACM Restore the pipeline waits on."""
    if obj is None:
        return "failed"
    current = phase(obj)
    if current in ("Finished", "Completed") or benign_finished_with_errors(obj):
        return "done"
    if passive and current == "Enabled":
        return "done"
    if current in RESTORE_FAILED or current == "FinishedWithErrors":
        return "failed"
    return "waiting"


def passive_restore_problem(obj: Obj, hub: str) -> str | None:
    """Why a passive-sync Restore cannot be activated, with the fix, or None while it can (Enabled, or
    on its way there: Started, Running, Unknown, no phase yet)."""
    current = phase(obj)
    name = (obj.get("metadata") or {}).get("name", "")
    message = str((obj.get("status") or {}).get("lastMessage") or "")
    if current in RESTORE_INERT:
        return (f"{name} on {hub} is {current}" + (f" ({message})" if message else "") +
                ": the operator never processes it again; delete it and create a new passive-sync Restore")
    if current in RESTORE_FAILED:
        return f"{name} on {hub} is {current}: {message}"
    return None


def backup_type(obj: Obj) -> str | None:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    if BACKUP_TYPE_LABEL in labels:
        return str(labels[BACKUP_TYPE_LABEL])
    match = _ACM_NAME.match(str((obj.get("metadata") or {}).get("name", "")))
    if match:
        return {"managed-clusters": "managedClusters"}.get(match.group(1), match.group(1))
    return None


def acm_owned(obj: Obj) -> bool:
    return backup_type(obj) is not None


def version_at_least(version: str, major: int, minor: int) -> bool:
    """Whether an ACM version string (``2.14.2``) is at least ``major.minor``; unreadable ones are not."""
    parts = version.split(".")
    try:
        return (int(parts[0]), int(parts[1])) >= (major, minor)
    except (IndexError, ValueError):
        return False


def parse_time(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


def cron_period_seconds(expression: str) -> float:
    """Seconds between runs of a five-field cron or an @-macro; unknown forms count as hourly."""
    text = expression.strip()
    macros = {"@hourly": 3600.0, "@daily": 86400.0, "@midnight": 86400.0, "@weekly": 604800.0}
    if text in macros:
        return macros[text]
    fields = text.split()
    if len(fields) != 5:
        return 3600.0
    minute, hour, day, _, _ = fields
    if minute.startswith("*/") and hour == "*" and minute[2:].isdigit():
        return int(minute[2:]) * 60.0
    if minute.isdigit() and hour.startswith("*/") and hour[2:].isdigit():
        return int(hour[2:]) * 3600.0
    if minute.isdigit() and hour == "*":
        return 3600.0
    if minute.isdigit() and hour.isdigit() and day == "*":
        return 86400.0
    return 3600.0
