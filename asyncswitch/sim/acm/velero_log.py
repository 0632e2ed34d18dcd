"""Velero's server log on a simulated hub, written when it is read, from the Backups and Restores in the store.

Lines are logrus text as Velero prints them (``time="…" level=info msg="…" backup=ns/name
logSource="pkg/controller/backup_controller.go:…"``): a few start-up lines, then for each
Backup and Restore a line per phase it reached (at the timestamps its status carries), and
``level=error`` lines for the ones that Failed, PartiallyFailed or FailedValidation, with their
failureReason or validationErrors. Only what happened since the container started is there,
as with a real container's log. Nothing here hooks into the Velero controller: a scan of the
log sees exactly what the objects on the hub say.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

from ..podlogs import LogLine, container_started_at, parse_time
from ..store import Store
from .context import SimHub
from .identity import hub_id
from .kinds import BACKUP_CLUSTER_LABEL, BACKUP_NAMESPACE, BSL_NAME, VELERO_BACKUPS, VELERO_RESTORES

__all__ = ["VELERO_POD_SELECTOR", "VELERO_VERSION", "logfmt", "velero_log"]

VELERO_VERSION = "v1.14.1"
VELERO_POD_SELECTOR = "app.kubernetes.io/name=velero"
"""The pods whose log this writes (the velero Deployment's pods in the backup namespace)."""

_PLAIN = re.compile(r"^[A-Za-z0-9\-._/@^+]+$")
_Event = tuple[datetime | None, str, str, dict[str, Any]]
"""(when, level, msg, fields) of one line; None when the object's status has no such time."""


def _quote(value: str) -> str:
    """A logrus value: bare when it needs no quoting (empty too), else a Go-quoted string."""
    if not value or _PLAIN.match(value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def logfmt(time: datetime, level: str, msg: str, **fields: Any) -> str:
    """One logrus TextFormatter line: time, level and msg first, then the fields sorted by key."""
    head = f'time="{time:%Y-%m-%dT%H:%M:%SZ}" level={level} msg={_quote(msg)}'
    rest = " ".join(f"{key}={_quote(str(value))}" for key, value in sorted(fields.items()) if value is not None)
    return f"{head} {rest}" if rest else head


def _start_lines(start: datetime) -> list[LogLine]:
    server = "pkg/cmd/server/server.go"
    return [LogLine(start, logfmt(start, "info", msg, logSource=src)) for msg, src in (
        ("setting log-level to INFO", f"{server}:216"),
        (f"Starting Velero server {VELERO_VERSION} (-)", f"{server}:218"),
        ("Checking existence of namespace.", f"{server}:472"),
        ("Namespace exists", f"{server}:478"),
        ("Starting controllers", f"{server}:665"),
        ("Server starting...", f"{server}:1027"),
        ("Server started successfully", f"{server}:1073"),
    )]


def _backup_lines(obj: Mapping[str, Any], cluster_id: str) -> Iterator[_Event]:
    meta, status = obj["metadata"], obj.get("status") or {}
    ref = f"{meta.get('namespace')}/{meta['name']}"
    phase = status.get("phase") or ""
    created = parse_time(meta.get("creationTimestamp"))
    if (meta.get("labels") or {}).get(BACKUP_CLUSTER_LABEL, cluster_id) != cluster_id:
        # Taken by the other hub: this Velero found it in the shared storage.
        yield created, "info", "Attempting to sync backup into cluster", {
            "backup": meta["name"], "backupLocation": f"{meta.get('namespace')}/{BSL_NAME}",
            "controller": "backup-sync", "logSource": "pkg/controller/backup_sync_controller.go:170"}
        return
    src = "pkg/controller/backup_controller.go"
    yield created, "info", "Preparing backup request", {"backup": ref, "controller": "backup",
                                                         "logSource": f"{src}:254"}
    started = parse_time(status.get("startTimestamp"))
    ended = parse_time(status.get("completionTimestamp"))
    if phase in ("", "New") or started is None:
        if phase == "FailedValidation":
            yield from _validation_errors(status, ended or created, "backup", ref, f"{src}:361")
        return
    yield started, "info", "Setting up backup log", {"backup": ref, "controller": "backup",
                                                      "logSource": f"{src}:641"}
    namespaces = ", ".join(((obj.get("spec") or {}).get("includedNamespaces")) or ["*"])
    yield started, "info", f"Including namespaces: {namespaces}", {"backup": ref,
                                                                    "logSource": "pkg/backup/backup.go:268"}
    if phase == "InProgress":
        return
    progress = status.get("progress") or {}
    yield ended or started, "info", f"Backed up a total of {progress.get('itemsBackedUp', 0)} items", {
        "backup": ref, "logSource": "pkg/backup/backup.go:501", "progress": ""}
    if phase == "Failed":
        yield ended, "error", "backup failed", {"backup": ref, "controller": "backup", "logSource": f"{src}:293",
                                                "error": status.get("failureReason") or "backup failed"}
    elif phase == "PartiallyFailed":
        yield ended, "error", "Backup completed with errors", {
            "backup": ref, "controller": "backup", "logSource": f"{src}:757", "errors": status.get("errors", 1),
            "error": status.get("failureReason") or f"{status.get('errors', 1)} errors"}
    elif phase == "Completed":
        yield ended, "info", "Backup completed", {"backup": ref, "controller": "backup", "logSource": f"{src}:757"}


def _restore_lines(obj: Mapping[str, Any]) -> Iterator[_Event]:
    meta, status, spec = obj["metadata"], obj.get("status") or {}, obj.get("spec") or {}
    ref = f"{meta.get('namespace')}/{meta['name']}"
    phase = status.get("phase") or ""
    src = "pkg/controller/restore_controller.go"
    created = parse_time(meta.get("creationTimestamp"))
    ended = parse_time(status.get("completionTimestamp"))
    yield created, "info", "restore request received", {"controller": "restore", "logSource": f"{src}:221",
                                                         "restore": ref}
    if phase == "FailedValidation":
        yield from _validation_errors(status, ended or created, "restore", ref, f"{src}:324")
        return
    started = parse_time(status.get("startTimestamp"))
    if started is None:
        return
    backup = f"{meta.get('namespace')}/{spec.get('backupName', '')}"
    yield started, "info", f"Starting restore of backup {backup}", {"logSource": "pkg/restore/restore.go:428",
                                                                     "restore": ref}
    if phase == "InProgress":
        return
    progress = status.get("progress") or {}
    total, restored = progress.get("totalItems", 0), progress.get("itemsRestored", 0)
    counted = (f"Restored {restored} items out of an estimated total of {total} "
               "(estimate will change throughout the restore)")
    yield ended, "info", counted, {"logSource": "pkg/restore/restore.go:693", "restore": ref}
    if phase in ("Failed", "PartiallyFailed"):
        msg = "restore failed" if phase == "Failed" else "restore completed with errors"
        yield ended, "error", msg, {"controller": "restore", "logSource": f"{src}:572", "restore": ref,
                                    "error": status.get("failureReason") or f"{status.get('errors', 1)} errors"}
    elif phase == "Completed":
        yield ended, "info", "restore completed", {"controller": "restore", "logSource": f"{src}:572",
                                                   "restore": ref, "warnings": status.get("warnings") or None}


def _validation_errors(status: Mapping[str, Any], time: datetime | None, kind: str, ref: str,
                       source: str) -> Iterator[_Event]:
    for error in status.get("validationErrors") or ["validation failed"]:
        yield time, "error", f"{kind.capitalize()} failed validation", {
            kind: ref, "controller": kind, "error": error, "logSource": source}


def velero_log(store: Store, hub: SimHub) -> Callable[[Mapping[str, Any], str], list[LogLine]]:
    """The log source of the velero pods on ``hub``: start-up lines, then the lines of its jobs."""

    def lines(pod: Mapping[str, Any], container: str) -> list[LogLine]:
        start = container_started_at(pod, container)
        out = _start_lines(start)
        events: list[_Event] = []
        own_id = hub_id(store)
        for stored in store.list(VELERO_BACKUPS, BACKUP_NAMESPACE).items:
            events += _backup_lines(stored.obj, own_id)
        for stored in store.list(VELERO_RESTORES, BACKUP_NAMESPACE).items:
            events += _restore_lines(stored.obj)
        dated = [(time, level, msg, fields) for time, level, msg, fields in events
                 if time is not None and time >= start]
        dated.sort(key=lambda event: event[0])  # stable: one object's lines keep their order within a second
        out += [LogLine(time, logfmt(time, level, msg, **fields)) for time, level, msg, fields in dated]
        return out

    return lines
