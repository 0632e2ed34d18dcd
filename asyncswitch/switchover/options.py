"""What a switchover is asked to do, and how long each of its waits may take."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from ..errors import ConfigError

__all__ = ["ActivationMethod", "ArgocdMode", "Method", "OldHubAction", "SwitchoverOptions", "Timeouts"]


class Method(StrEnum):
    PASSIVE = "passive"
    """The secondary already runs a passive-sync Restore; activation adds the managed clusters."""
    FULL = "full"
    """A one-shot Restore of everything from the latest backups."""


class ActivationMethod(StrEnum):
    PATCH = "patch"
    """Patch the passive Restore's veleroManagedClustersBackupName to latest (runbook option A)."""
    RESTORE = "restore"
    """Delete the passive Restore, wait until it is gone, create restore-acm-activate (option B)."""


class OldHubAction(StrEnum):
    SECONDARY = "secondary"
    """Make the old hub a passive-sync standby, ready for the way back."""
    DECOMMISSION = "decommission"
    """Remove observability, managed clusters and the MultiClusterHub from the old hub."""
    NONE = "none"
    """Leave the old hub as it is (schedule paused, clusters annotated)."""


class ArgocdMode(StrEnum):
    PAUSE = "pause"
    """Pause the auto-sync of Argo CD Applications that manage ACM resources; restore it at the end."""
    WARN = "warn"
    """Report them in preflight and leave them alone."""
    REFUSE = "refuse"
    """Stop in preflight while any of them auto-syncs."""


@dataclass(frozen=True)
class Timeouts:
    """Deadlines of the pipeline's waits, in seconds (domain facts §9)."""

    restore: float = 1800.0
    """An ACM Restore or the managed-clusters Velero restore finishing; a Restore's deletion."""
    passive_sync: float = 900.0
    """``--activation-method restore``: the passive restore syncing the newest credentials and resources
    backups before it is replaced (a pipeline-made passive restore syncs every 10 minutes)."""
    clusters_first_window: float = 120.0
    """After this long (the runbook's first check) the clusters not yet joined are reported by name;
    the wait goes on to ``clusters_connected``."""
    clusters_connected: float = 600.0
    """Every managed cluster (or ``min_cluster_share`` of them) Available and Joined on the new hub."""
    backup_in_progress: float = 600.0
    """Preflight: a backup in progress on the primary finishing."""
    new_backup_min: float = 600.0
    """The new hub's first backup appearing (at least this, or one cron period)."""
    mch_healthy: float = 600.0
    """The MultiClusterHub Running again after the switchover."""
    pods: float = 300.0
    """Observability pods Ready or gone."""
    compactor_watch: float = 300.0
    """After the switchover, how long both hubs are watched for a second Thanos compactor (the old hub's
    observability operator restores a scaled-down one within minutes); 0 checks once."""
    cluster_deletion: float = 300.0
    """Decommission: ManagedClusters gone."""
    mch_deletion: float = 1200.0
    """Decommission: the MultiClusterHub gone."""
    schedule_deletion: float = 120.0
    """A BackupSchedule gone before it is created again."""

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if value < 0 or (value == 0 and name != "compactor_watch"):
                raise ConfigError(f"timeout {name} must be positive, got {value}")


@dataclass(frozen=True)
class SwitchoverOptions:
    """One switchover, validated once at the edge."""

    method: Method = Method.PASSIVE
    old_hub_action: OldHubAction = OldHubAction.SECONDARY
    activation_method: ActivationMethod = ActivationMethod.PATCH
    min_managed_clusters: int = 0
    """Fail activation when fewer non-local managed clusters arrive on the new hub; 0 only reports."""
    min_cluster_share: float = 1.0
    """Post-activation: the share (0 < share <= 1) of the clusters that arrived on the new hub that must be
    Available and Joined; those still missing at the end are reported as a warning."""
    argocd: ArgocdMode = ArgocdMode.WARN
    """What to do about Argo CD Applications that auto-sync ACM resources (pause, warn, refuse)."""
    manage_auto_import_strategy: bool = False
    """ACM 2.14+: set the new hub's auto-import strategy to ImportAndSync for the switchover and reset it
    once the clusters have joined (only if this run set it)."""
    dry_run: bool = False
    """Read everything, change nothing, write no state file."""
    validate_only: bool = False
    """Run preflight only."""
    timeouts: Timeouts = field(default_factory=Timeouts)
    write_concurrency: int = 16
    """Per-cluster writes (annotations, deletions) in flight at once on one hub."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "argocd", ArgocdMode(self.argocd))
        if self.activation_method is ActivationMethod.RESTORE and self.method is not Method.PASSIVE:
            raise ConfigError("--activation-method restore applies to --method passive only")
        if self.min_managed_clusters < 0:
            raise ConfigError("--min-managed-clusters must not be negative")
        if not 0.0 < self.min_cluster_share <= 1.0:
            raise ConfigError(f"--min-cluster-share must be above 0 and at most 1, got {self.min_cluster_share}")
        if self.write_concurrency < 1:
            raise ConfigError(f"write_concurrency must be at least 1, got {self.write_concurrency}")
