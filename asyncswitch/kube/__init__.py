"""The one client layer between asyncswitch and its hubs: resources, requests, watches, caches.

    async with Hub.connect(kubeconfig, "hub-a", settings=ClientSettings()) as hub:
        restore = await hub.get(ACM_RESTORES, "restore-acm-passive-sync", "open-cluster-management-backup")
        async with ResourceCache(hub, MANAGED_CLUSTERS) as clusters:
            await clusters.ready()
            await clusters.wait_for(all_joined, timeout=600, description="every cluster joined")
"""

from .cache import CacheHealth, Objects, Predicate, ResourceCache, summarize
from .errors import (
    ConflictError,
    GoneError,
    HubApiError,
    HubUnreachableError,
    NotFoundError,
    ServerError,
    TooManyRequestsError,
    WaitTimeout,
)
from .events import EventType, Gap, GapReason, WatchEvent
from .hub import Hub, ListResult, Selector, Write, WriteListener
from .kubeconfig import list_contexts
from .resources import (
    ACM_RESTORES,
    ALL_RESOURCES,
    ARGO_APPLICATIONS,
    ARGOCDS,
    BACKUP_SCHEDULES,
    BACKUP_STORAGE_LOCATIONS,
    CLUSTER_DEPLOYMENTS,
    CLUSTER_VERSIONS,
    CONFIG_MAPS,
    CUSTOM_RESOURCE_DEFINITIONS,
    DATA_PROTECTION_APPLICATIONS,
    DEPLOYMENTS,
    LEASES,
    MANAGED_CLUSTERS,
    MULTICLUSTER_HUBS,
    MULTICLUSTER_OBSERVABILITIES,
    NAMESPACES,
    PODS,
    ROUTES,
    SECRETS,
    SELF_SUBJECT_ACCESS_REVIEWS,
    STATEFUL_SETS,
    VELERO_BACKUPS,
    VELERO_RESTORES,
    VELERO_SCHEDULES,
    Resource,
)
from .retrying import RequestCounters
from .settings import ClientSettings
from .watching import WatchDriver, watch

__all__ = [
    "ACM_RESTORES",
    "ALL_RESOURCES",
    "ARGOCDS",
    "ARGO_APPLICATIONS",
    "BACKUP_SCHEDULES",
    "BACKUP_STORAGE_LOCATIONS",
    "CLUSTER_DEPLOYMENTS",
    "CLUSTER_VERSIONS",
    "CONFIG_MAPS",
    "CUSTOM_RESOURCE_DEFINITIONS",
    "DATA_PROTECTION_APPLICATIONS",
    "DEPLOYMENTS", "LEASES",
    "MANAGED_CLUSTERS",
    "MULTICLUSTER_HUBS",
    "MULTICLUSTER_OBSERVABILITIES",
    "NAMESPACES",
    "PODS",
    "ROUTES",
    "SECRETS",
    "SELF_SUBJECT_ACCESS_REVIEWS",
    "STATEFUL_SETS",
    "VELERO_BACKUPS",
    "VELERO_RESTORES",
    "VELERO_SCHEDULES",
    "CacheHealth",
    "ClientSettings",
    "ConflictError",
    "EventType",
    "Gap",
    "GapReason",
    "GoneError",
    "Hub",
    "HubApiError",
    "HubUnreachableError",
    "ListResult",
    "NotFoundError",
    "Objects",
    "Predicate",
    "RequestCounters",
    "Resource",
    "ResourceCache",
    "Selector",
    "ServerError",
    "TooManyRequestsError",
    "WaitTimeout",
    "WatchDriver",
    "WatchEvent",
    "Write",
    "WriteListener",
    "list_contexts",
    "summarize",
    "watch",
]
