"""The resource types asyncswitch touches on a hub, and how their API paths are built.

One :class:`Resource` per type (domain facts §1.2); the same path scheme serves core, apps
and custom types, so the client has one code path for all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

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
    "DEPLOYMENTS",
    "LEASES",
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
    "Resource",
]


@dataclass(frozen=True, slots=True)
class Resource:
    """One API resource type: a plural in one group/version."""

    group: str
    """API group; "" for the core group."""
    version: str
    plural: str
    kind: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        """``group/version``, or just ``version`` for the core group (as in an object's apiVersion)."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> str:
        """``plural.group`` (``plural`` for the core group): how errors and logs name the type."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def path(self, *, namespace: str | None = None, name: str | None = None, subresource: str | None = None) -> str:
        """The URL path of the collection, an object, or an object's subresource."""
        if namespace is not None and not self.namespaced:
            raise ValueError(f"{self.key} is cluster-scoped: it takes no namespace")
        if subresource is not None and name is None:
            raise ValueError("a subresource needs an object name")
        path = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if namespace is not None:
            path += f"/namespaces/{quote(namespace, safe='')}"
        path += f"/{self.plural}"
        if name is not None:
            path += f"/{quote(name, safe='')}"
        if subresource is not None:
            path += f"/{quote(subresource, safe='')}"
        return path

    def __str__(self) -> str:
        return self.key


_OCM = "cluster.open-cluster-management.io"

MANAGED_CLUSTERS = Resource(_OCM, "v1", "managedclusters", "ManagedCluster", namespaced=False)
BACKUP_SCHEDULES = Resource(_OCM, "v1beta1", "backupschedules", "BackupSchedule")
ACM_RESTORES = Resource(_OCM, "v1beta1", "restores", "Restore")
VELERO_BACKUPS = Resource("velero.io", "v1", "backups", "Backup")
VELERO_RESTORES = Resource("velero.io", "v1", "restores", "Restore")
VELERO_SCHEDULES = Resource("velero.io", "v1", "schedules", "Schedule")
BACKUP_STORAGE_LOCATIONS = Resource("velero.io", "v1", "backupstoragelocations", "BackupStorageLocation")
DATA_PROTECTION_APPLICATIONS = Resource("oadp.openshift.io", "v1alpha1", "dataprotectionapplications",
                                        "DataProtectionApplication")
MULTICLUSTER_HUBS = Resource("operator.open-cluster-management.io", "v1", "multiclusterhubs", "MultiClusterHub")
MULTICLUSTER_OBSERVABILITIES = Resource("observability.open-cluster-management.io", "v1beta2",
                                        "multiclusterobservabilities", "MultiClusterObservability", namespaced=False)
CLUSTER_DEPLOYMENTS = Resource("hive.openshift.io", "v1", "clusterdeployments", "ClusterDeployment")
CLUSTER_VERSIONS = Resource("config.openshift.io", "v1", "clusterversions", "ClusterVersion", namespaced=False)
CONFIG_MAPS = Resource("", "v1", "configmaps", "ConfigMap")
SECRETS = Resource("", "v1", "secrets", "Secret")
PODS = Resource("", "v1", "pods", "Pod")
NAMESPACES = Resource("", "v1", "namespaces", "Namespace", namespaced=False)
DEPLOYMENTS = Resource("apps", "v1", "deployments", "Deployment")
STATEFUL_SETS = Resource("apps", "v1", "statefulsets", "StatefulSet")
ROUTES = Resource("route.openshift.io", "v1", "routes", "Route")
CUSTOM_RESOURCE_DEFINITIONS = Resource("apiextensions.k8s.io", "v1", "customresourcedefinitions",
                                       "CustomResourceDefinition", namespaced=False)
ARGO_APPLICATIONS = Resource("argoproj.io", "v1alpha1", "applications", "Application")
ARGOCDS = Resource("argoproj.io", "v1alpha1", "argocds", "ArgoCD")
LEASES = Resource("coordination.k8s.io", "v1", "leases", "Lease")
SELF_SUBJECT_ACCESS_REVIEWS = Resource("authorization.k8s.io", "v1", "selfsubjectaccessreviews",
                                       "SelfSubjectAccessReview", namespaced=False)

ALL_RESOURCES: tuple[Resource, ...] = (
    MANAGED_CLUSTERS, BACKUP_SCHEDULES, ACM_RESTORES, VELERO_BACKUPS, VELERO_RESTORES, VELERO_SCHEDULES,
    BACKUP_STORAGE_LOCATIONS, DATA_PROTECTION_APPLICATIONS, MULTICLUSTER_HUBS, MULTICLUSTER_OBSERVABILITIES,
    CLUSTER_DEPLOYMENTS, CLUSTER_VERSIONS, CONFIG_MAPS, SECRETS, PODS, NAMESPACES, DEPLOYMENTS, STATEFUL_SETS, ROUTES,
    LEASES, CUSTOM_RESOURCE_DEFINITIONS, ARGO_APPLICATIONS, ARGOCDS, SELF_SUBJECT_ACCESS_REVIEWS,
)
"""Every type in the table above, for preflight RBAC checks and tests."""
