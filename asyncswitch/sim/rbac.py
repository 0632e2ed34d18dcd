"""RBAC as the API server's authorizer applies it, over the Roles and bindings in the store.

Only tokens made for a ServiceAccount (``serviceaccounts/<name>/token``) are authorized this way;
the hub's full-access and read-only tokens keep their fixed rights. The rules follow
k8s.io/kubernetes plugin/pkg/auth/authorizer/rbac: a ClusterRoleBinding grants its role everywhere,
a RoleBinding grants a Role or ClusterRole in its own namespace; a rule allows a request when its
verbs, apiGroups, resources (``plural``, ``plural/subresource``, ``*`` or ``*/subresource``) and
resourceNames (empty for any) all match. Aggregated ClusterRoles and non-resource URLs are not
modelled: discovery and access reviews are open to every authenticated user, as the default
``system:discovery`` and ``system:basic-user`` bindings make them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["RequestAttributes", "allows", "forbidden_message", "service_account_user"]

@dataclass(frozen=True)
class RequestAttributes:
    """What the authorizer is asked: may this user do ``verb`` on this resource (and object)?"""

    verb: str
    group: str
    resource: str
    subresource: str | None = None
    namespace: str | None = None
    name: str | None = None

    @property
    def resource_path(self) -> str:
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource


def service_account_user(namespace: str, name: str) -> str:
    return f"system:serviceaccount:{namespace}:{name}"


def allows(objects: Mapping[str, Iterable[dict[str, Any]]], user: str, groups: Iterable[str],
           attrs: RequestAttributes) -> bool:
    """Whether any binding of ``user`` (or one of its ``groups``) grants the request.

    ``objects`` maps each RBAC plural (roles, rolebindings, clusterroles, clusterrolebindings) to
    the stored objects of that type.
    """
    groups = frozenset(groups)
    roles = {(_meta(r, "namespace"), _meta(r, "name")): r for r in objects.get("roles", ())}
    cluster_roles = {_meta(r, "name"): r for r in objects.get("clusterroles", ())}
    for binding in objects.get("clusterrolebindings", ()):
        ref = binding.get("roleRef") or {}
        if (ref.get("kind") == "ClusterRole" and _binds(binding, user, groups, None)
                and _grants(cluster_roles.get(ref.get("name", "")), attrs)):
            return True
    if attrs.namespace is None:
        return False
    for binding in objects.get("rolebindings", ()):
        if _meta(binding, "namespace") != attrs.namespace or not _binds(binding, user, groups, attrs.namespace):
            continue
        ref = binding.get("roleRef") or {}
        role = (roles.get((attrs.namespace, ref.get("name", ""))) if ref.get("kind") == "Role"
                else cluster_roles.get(ref.get("name", "")) if ref.get("kind") == "ClusterRole" else None)
        if _grants(role, attrs):
            return True
    return False


def forbidden_message(user: str, attrs: RequestAttributes) -> str:
    """The API server's words for a denied request."""
    scope = f'in the namespace "{attrs.namespace}"' if attrs.namespace else "at the cluster scope"
    qualified = f"{attrs.resource}.{attrs.group}" if attrs.group else attrs.resource
    subject = f'{qualified} "{attrs.name}"' if attrs.name else qualified
    return (f'{subject} is forbidden: User "{user}" cannot {attrs.verb} resource "{attrs.resource_path}" '
            f'in API group "{attrs.group}" {scope}')


def _meta(obj: dict[str, Any], key: str) -> Any:
    return (obj.get("metadata") or {}).get(key)


def _binds(binding: dict[str, Any], user: str, groups: frozenset[str], namespace: str | None) -> bool:
    for subject in binding.get("subjects") or ():
        kind, name = subject.get("kind"), subject.get("name")
        if kind == "User" and name == user:
            return True
        if kind == "Group" and name in groups:
            return True
        if kind == "ServiceAccount":
            # A RoleBinding's ServiceAccount subject without a namespace means the binding's own.
            sa_namespace = subject.get("namespace") or namespace
            if sa_namespace and user == service_account_user(sa_namespace, name or ""):
                return True
    return False


def _grants(role: dict[str, Any] | None, attrs: RequestAttributes) -> bool:
    return role is not None and any(_rule_allows(rule, attrs) for rule in role.get("rules") or ())


def _rule_allows(rule: dict[str, Any], attrs: RequestAttributes) -> bool:
    verbs = rule.get("verbs") or ()
    if "*" not in verbs and attrs.verb not in verbs:
        return False
    api_groups = rule.get("apiGroups") or ()
    if "*" not in api_groups and attrs.group not in api_groups:
        return False
    resources = rule.get("resources") or ()
    wanted = {attrs.resource_path, "*"} | ({f"*/{attrs.subresource}"} if attrs.subresource else set())
    if not wanted & set(resources):
        return False
    names = rule.get("resourceNames") or ()
    return not names or (attrs.name is not None and attrs.name in names)
