"""What lives outside both hubs: the fleet of managed clusters and the shared backup storage."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BackupRecord", "BackupStorage", "ClusterSnapshot", "Fleet", "SecretSnapshot", "SimCluster"]


@dataclass
class SimCluster:
    """One managed cluster; its klusterlet points at one hub (or none, when destroyed)."""

    name: str
    hub: str | None
    preserve_on_delete: bool | None = None
    """None: not provisioned by Hive (no ClusterDeployment)."""
    labels: dict[str, str] = field(default_factory=dict)
    destroyed: bool = False


@dataclass
class Fleet:
    clusters: dict[str, SimCluster] = field(default_factory=dict)

    def on_hub(self, hub: str) -> list[SimCluster]:
        return [c for c in self.clusters.values() if c.hub == hub and not c.destroyed]


@dataclass(frozen=True)
class ClusterSnapshot:
    """A ManagedCluster as a managed-clusters backup holds it."""

    name: str
    labels: dict[str, str]
    annotations: dict[str, str]
    spec: dict[str, Any]


@dataclass(frozen=True)
class SecretSnapshot:
    """A Secret as a credentials backup holds it (the simulator keeps only the MSA token secrets)."""

    namespace: str
    name: str
    labels: dict[str, str]
    annotations: dict[str, str]
    data: dict[str, str]


@dataclass(frozen=True)
class BackupRecord:
    """One completed backup in object storage, as both hubs' Velero see it."""

    name: str
    schedule: str
    """The Velero Schedule that made it, e.g. ``acm-managed-clusters-schedule``; "" for a Backup made
    directly (the activation marker ``acm-restore-clusters-<ts>``)."""
    backup_type: str
    """credentials, resources, generic, managedClusters, validation, or "" (no schedule-type label)."""
    hub: str
    cluster_id: str
    """The hub cluster that wrote it (BackupCollision compares this)."""
    created: float
    """Wall-clock seconds when the backup started."""
    start: str
    completion: str
    items: int
    use_managed_service_account: bool
    clusters: tuple[ClusterSnapshot, ...] = ()
    cluster_deployments: tuple[tuple[str, bool], ...] = ()
    """(cluster name, preserveOnDelete) of the ClusterDeployments in a resources backup."""
    observability: tuple[ClusterSnapshot, ...] = ()
    """The MultiClusterObservability objects of a managed-clusters backup (facts §4): the MCO comes back
    with the activation restore, so the new hub runs observability."""
    labels: dict[str, str] = field(default_factory=dict)
    expires: float = math.inf
    """Wall-clock seconds when its TTL runs out and Velero's garbage collection deletes it."""
    secrets: tuple[SecretSnapshot, ...] = ()
    """The Secrets of a credentials backup that the simulator models: the managed-serviceaccount tokens
    (labelled ``cluster.open-cluster-management.io/backup=msa``) post-restore activation reads."""


class BackupStorage:
    """The object storage both hubs' BackupStorageLocations point at."""

    def __init__(self) -> None:
        self.available = True
        self._records: dict[str, BackupRecord] = {}
        self._listeners: list[Callable[[BackupRecord], None]] = []
        self._removal_listeners: list[Callable[[str], None]] = []
        self._availability_listeners: list[Callable[[bool], None]] = []

    def put(self, record: BackupRecord) -> None:
        self._records[record.name] = record
        for listener in list(self._listeners):
            listener(record)

    def get(self, name: str) -> BackupRecord | None:
        return self._records.get(name)

    def records(self) -> list[BackupRecord]:
        return sorted(self._records.values(), key=lambda r: (r.created, r.name))

    def newest(self) -> BackupRecord | None:
        records = self.records()
        return records[-1] if records else None

    def subscribe(self, listener: Callable[[BackupRecord], None]) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def remove(self, name: str) -> None:
        """Delete a backup from the storage (Velero's garbage collection); every hub's sync drops its copy."""
        if self._records.pop(name, None) is not None:
            for listener in list(self._removal_listeners):
                listener(name)

    def on_removal(self, listener: Callable[[str], None]) -> Callable[[], None]:
        self._removal_listeners.append(listener)
        return lambda: self._removal_listeners.remove(listener)

    def on_availability(self, listener: Callable[[bool], None]) -> Callable[[], None]:
        self._availability_listeners.append(listener)
        return lambda: self._availability_listeners.remove(listener)

    def set_available(self, available: bool) -> None:
        """Make the storage reachable or not; both hubs' BSLs follow."""
        if available != self.available:
            self.available = available
            for listener in list(self._availability_listeners):
                listener(available)
