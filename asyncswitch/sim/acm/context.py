"""What every simulated controller is handed: its hub, the world outside, the clock and the knobs."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from ...errors import ConfigError
from ..server import ApiServer
from ..store import Store
from .kinds import IMPORT_CONFIGMAP, MCE_NAMESPACE
from .profiles import SimClock, TimingProfile, profile_named
from .versions import DEFAULT_ACM_VERSION, AcmVersion, parse_acm_version
from .world import BackupStorage, Fleet

__all__ = ["SimConfig", "SimHub", "SimWorld"]


@dataclass(frozen=True)
class SimConfig:
    """The knobs of the simulated hub pair."""

    clusters: int = 20
    """Managed clusters in the fleet (local-cluster on each hub not counted)."""
    profile: TimingProfile = field(default_factory=lambda: profile_named("fast"))
    seed: int = 0
    acm_version: str | tuple[str, str] = DEFAULT_ACM_VERSION
    """ACM version of both hubs, or (hub-a's, hub-b's). It sets MultiClusterHub status.currentVersion and
    every version-dependent behaviour of the simulated operators (versions.py, docs/simulator.md)."""
    hive_share: float = 0.3
    """Share of clusters provisioned by Hive (with a ClusterDeployment)."""
    preserve_on_delete_false: int = 0
    """How many Hive clusters have spec.preserveOnDelete false (a preflight must catch them)."""
    use_managed_service_account: bool = True
    """spec.useManagedServiceAccount of hub-a's BackupSchedule; without it clusters never move."""
    backup_cron: str = "0 */1 * * *"
    observability: bool = True
    """MultiClusterObservability and its workloads on the active hub."""
    mco_reverts_scaling: bool = True
    """The observability operator scales its workloads back to defaults after a while."""
    argocd: bool = False
    """Argo CD on the active hub, auto-syncing an Application that manages its BackupSchedule (argocd.py)."""
    storage_available: bool = True
    tls: bool = True
    bookmark_interval: float = 60.0

    def __post_init__(self) -> None:
        # The library's edge: a wrong type is named here, not met deep inside start().
        for name, kind in _FIELD_TYPES.items():
            value = getattr(self, name)
            if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
                expected = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
                hint = " (use profile_named('fast') for a profile by name)" if name == "profile" else ""
                raise ConfigError(f"SimConfig.{name} must be {expected}, not {type(value).__name__}{hint}")
        if self.clusters < 0:
            raise ConfigError("SimConfig.clusters must not be negative")
        if not 0.0 <= self.hive_share <= 1.0:
            raise ConfigError("SimConfig.hive_share must be between 0 and 1")
        if self.preserve_on_delete_false < 0:
            raise ConfigError("SimConfig.preserve_on_delete_false must not be negative")
        if not self.bookmark_interval > 0:
            raise ConfigError("SimConfig.bookmark_interval must be positive")
        versions = (self.acm_version,) if isinstance(self.acm_version, str) else tuple(self.acm_version)
        if len(versions) not in (1, 2) or not all(isinstance(v, str) for v in versions):
            raise ConfigError("SimConfig.acm_version is one version, or two: hub-a's and hub-b's")
        for version in versions:
            try:
                parse_acm_version(version)
            except ValueError as exc:
                raise ConfigError(f"SimConfig.acm_version: {exc}") from None

    def version_of(self, hub: str) -> str:
        """The ACM version of ``hub`` ("hub-a" or "hub-b")."""
        if isinstance(self.acm_version, str):
            return self.acm_version
        return self.acm_version[0] if hub == "hub-a" else self.acm_version[1]


_FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "clusters": int, "profile": TimingProfile, "seed": int, "acm_version": (str, tuple, list),
    "hive_share": (int, float), "preserve_on_delete_false": int, "use_managed_service_account": bool,
    "backup_cron": str, "observability": bool, "mco_reverts_scaling": bool, "storage_available": bool,
    "tls": bool, "bookmark_interval": (int, float), "argocd": bool,
}


class SimWorld:
    """State shared by both hubs' controllers: fleet, storage, clock, task group."""

    def __init__(self, config: SimConfig, tg: asyncio.TaskGroup) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.clock = SimClock(config.profile, self.rng)
        self.fleet = Fleet()
        self.storage = BackupStorage()
        self.storage.available = config.storage_available
        self._tg = tg
        self.tasks: set[asyncio.Task[None]] = set()

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        """Start a controller task in the pair's task group; a crash there stops the whole pair."""
        task = self._tg.create_task(coro, name=name)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task


class SimHub:
    """One simulated hub: its API server plus the controller-side memory a real hub keeps."""

    def __init__(self, server: ApiServer, *, cluster_id: str | None = None, acm_version: str) -> None:
        self.server = server
        self.name = server.name
        self.cluster_id = cluster_id or str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{server.name}.asyncswitch"))
        self.acm_version = acm_version
        self.version: AcmVersion = parse_acm_version(acm_version)
        self.imported: set[str] = set()
        """Clusters this hub has imported before (ImportOnly does not import them again by itself)."""

    @property
    def store(self) -> Store:
        return self.server.store

    def import_strategy(self) -> str:
        if not self.version.import_only_default:
            return "ImportAndSync"
        cm = self.store.find(self.store.type_of("configmaps"), MCE_NAMESPACE, IMPORT_CONFIGMAP)
        value = ((cm.obj.get("data") or {}).get("autoImportStrategy") if cm else None) or "ImportOnly"
        return str(value)
