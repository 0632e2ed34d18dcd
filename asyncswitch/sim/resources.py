"""The resource types an emulated API server serves, and the registry that holds them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = ["BUILTIN_TYPES", "ResourceRegistry", "ResourceType"]

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class ResourceType:
    """One served resource type (a plural in one group/version)."""

    group: str
    """API group; "" for the core group."""
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    status_subresource: bool = False
    """Whether ``/status`` exists; writes to the main resource then leave status alone and vice versa."""
    scale_subresource: bool = False
    """Whether ``/scale`` exists (spec.replicas, autoscaling/v1 Scale)."""
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    builtin: bool = False
    """Built-in types accept strategic-merge patches; custom types answer 415 to them."""
    tracks_generation: bool = True
    """Whether metadata.generation exists and grows on spec changes."""
    delete_returns_object: bool = False
    """Whether DELETE answers with the deleted object (custom resources, pods) or a Success Status."""
    field_selectors: tuple[str, ...] = ()
    """Fields beyond metadata.name and metadata.namespace a fieldSelector may name."""
    printer_columns: tuple[tuple[str, str, str], ...] = ()
    """Extra ``kubectl get`` columns as (name, type, JSONPath), as in a CRD's additionalPrinterColumns."""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> str:
        """The store's key for this type: ``plural.group`` (``plural`` for the core group)."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"


def _core(plural: str, kind: str, **kw: object) -> ResourceType:
    return ResourceType(group="", version="v1", plural=plural, kind=kind, builtin=True, **kw)  # type: ignore[arg-type]


BUILTIN_TYPES: tuple[ResourceType, ...] = (
    _core("namespaces", "Namespace", namespaced=False, status_subresource=True, short_names=("ns",),
          tracks_generation=False, field_selectors=("status.phase",)),
    _core("pods", "Pod", status_subresource=True, short_names=("po",), categories=("all",),
          tracks_generation=False, delete_returns_object=True,
          field_selectors=("status.phase", "spec.nodeName", "spec.serviceAccountName")),
    _core("services", "Service", status_subresource=True, short_names=("svc",), categories=("all",),
          tracks_generation=False),
    _core("secrets", "Secret", tracks_generation=False, field_selectors=("type",)),
    _core("configmaps", "ConfigMap", short_names=("cm",), tracks_generation=False),
    _core("serviceaccounts", "ServiceAccount", short_names=("sa",), tracks_generation=False),
    _core("events", "Event", short_names=("ev",), tracks_generation=False,
          field_selectors=("involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
                           "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
                           "involvedObject.fieldPath", "reason", "type", "source")),
    ResourceType("apps", "v1", "deployments", "Deployment", status_subresource=True, scale_subresource=True,
                 short_names=("deploy",), categories=("all",), builtin=True),
    ResourceType("apps", "v1", "statefulsets", "StatefulSet", status_subresource=True, scale_subresource=True,
                 short_names=("sts",), categories=("all",), builtin=True),
    ResourceType("coordination.k8s.io", "v1", "leases", "Lease", builtin=True, tracks_generation=False,
                 printer_columns=(("Holder", "string", ".spec.holderIdentity"),)),
    ResourceType("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition",
                 namespaced=False, status_subresource=True, short_names=("crd", "crds"), builtin=True),
    ResourceType("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview",
                 namespaced=False, verbs=("create",), builtin=True, tracks_generation=False),
    # RBAC, enforced for ServiceAccount tokens (rbac.py), and what deploy/ applies: Jobs, CronJobs, claims.
    *(ResourceType("rbac.authorization.k8s.io", "v1", plural, kind, namespaced=namespaced, builtin=True,
                   tracks_generation=False)
      for plural, kind, namespaced in (("roles", "Role", True), ("rolebindings", "RoleBinding", True),
                                       ("clusterroles", "ClusterRole", False),
                                       ("clusterrolebindings", "ClusterRoleBinding", False))),
    ResourceType("batch", "v1", "jobs", "Job", status_subresource=True, categories=("all",), builtin=True),
    ResourceType("batch", "v1", "cronjobs", "CronJob", status_subresource=True, short_names=("cj",),
                 categories=("all",), builtin=True),
    _core("persistentvolumeclaims", "PersistentVolumeClaim", status_subresource=True, short_names=("pvc",),
          tracks_generation=False),
)


@dataclass
class ResourceRegistry:
    """The types one server serves, looked up by (group, version, plural) or by store key."""

    _by_path: dict[tuple[str, str, str], ResourceType] = field(default_factory=dict)
    _by_key: dict[str, ResourceType] = field(default_factory=dict)

    @classmethod
    def with_builtins(cls) -> ResourceRegistry:
        registry = cls()
        for rtype in BUILTIN_TYPES:
            registry.add(rtype)
        return registry

    def add(self, rtype: ResourceType) -> bool:
        """Register a type; returns False if the same group/version/plural was already there."""
        path = (rtype.group, rtype.version, rtype.plural)
        if path in self._by_path:
            return False
        self._by_path[path] = rtype
        self._by_key.setdefault(rtype.key, rtype)
        return True

    def remove(self, rtype: ResourceType) -> None:
        self._by_path.pop((rtype.group, rtype.version, rtype.plural), None)
        if not any(t.key == rtype.key for t in self._by_path.values()):
            self._by_key.pop(rtype.key, None)

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._by_path.get((group, version, plural))

    def by_key(self, key: str) -> ResourceType:
        return self._by_key[key]

    def __iter__(self) -> Iterator[ResourceType]:
        return iter(self._by_path.values())

    def groups(self) -> dict[str, list[str]]:
        """Group name → its versions, in registration order (the first is preferred)."""
        out: dict[str, list[str]] = {}
        for group, version, _ in self._by_path:
            versions = out.setdefault(group, [])
            if version not in versions:
                versions.append(version)
        return out

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return [t for (g, v, _), t in self._by_path.items() if g == group and v == version]
