"""The RBAC a hub needs for asyncswitch, generated from the permission tables so it cannot drift.

``python -m asyncswitch rbac`` prints it; ``deploy/hub-rbac/`` and ``deploy/hub-rbac-read-only/``
hold the checked-in output, and a test keeps them current. One ClusterRole holds the cluster-scoped
resources (and those read across all namespaces); a Role in each fixed namespace holds the rest, so a
hub grants nothing in namespaces the switchover never touches. Each hub plays both roles over a
run, so its rules are the union of what the old hub and the new hub need, for every method and action
asked for (all of them by default), plus the engine's monitors.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from .engine.permissions import ENGINE_PERMISSIONS, FAULT_PERMISSIONS
from .switchover.options import ActivationMethod, ArgocdMode, Method, OldHubAction, SwitchoverOptions
from .switchover.permissions import PERMISSIONS, READ_VERBS, Permission

__all__ = ["RbacRequest", "every_option", "needed", "rbac_documents", "rbac_header", "render"]

_VERB_ORDER = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")


@dataclass(frozen=True)
class RbacRequest:
    """What to generate: for which runs, how much, and bound to whom."""

    options: Sequence[SwitchoverOptions]
    """The runs the role must allow; :func:`every_option` for one role that allows any run."""
    read_only: bool = False
    """Only get, list and watch: enough for --validate-only and --dry-run, refused for a real switchover."""
    name: str = "asyncswitch"
    """The roles' and bindings' name."""
    service_account: tuple[str, str] = ("asyncswitch", "asyncswitch")
    """(namespace, name) of the ServiceAccount the bindings name."""
    fault_injection: bool = False
    """Also what the fault scenarios that run on real hubs do (``run --inject-failure``)."""


def every_option() -> list[SwitchoverOptions]:
    """One SwitchoverOptions per combination of the choices that change what is done on a hub."""
    return [SwitchoverOptions(method=m, activation_method=a, old_hub_action=o, argocd=g, manage_auto_import_strategy=i)
            for m, a, o, g, i in itertools.product(Method, ActivationMethod, OldHubAction, ArgocdMode, (False, True))
            if m is Method.PASSIVE or a is ActivationMethod.PATCH]


def needed(request: RbacRequest) -> list[Permission]:
    """Every row some asked-for run needs on a hub (either role, any ACM version)."""
    rows = [p for p in PERMISSIONS if any(p.when(o) for o in request.options)]
    rows.extend(ENGINE_PERMISSIONS)
    if request.fault_injection:
        rows.extend(FAULT_PERMISSIONS)
    return [p for p in rows if not request.read_only or p.verb in READ_VERBS]


def rbac_documents(request: RbacRequest, rows: Iterable[Permission] | None = None) -> list[dict[str, Any]]:
    """The ClusterRole, the namespaced Roles and their bindings, as Kubernetes objects: for the rows
    ``request`` needs, or for ``rows`` when given."""
    rules: dict[str | None, dict[tuple[str, str], set[str]]] = {}
    for p in needed(request) if rows is None else rows:
        # A namespaced resource with no namespace in the table is read across all namespaces: cluster-wide.
        scope = p.namespace if p.resource.namespaced else None
        rules.setdefault(scope, {}).setdefault((p.resource.group, p.rbac_resource), set()).add(p.verb)
    sa_namespace, sa_name = request.service_account
    subject = [{"kind": "ServiceAccount", "name": sa_name, "namespace": sa_namespace}]
    labels = {"app.kubernetes.io/name": "asyncswitch", "app.kubernetes.io/component": "hub-rbac"}
    docs: list[dict[str, Any]] = []
    role_ref = {"apiGroup": "rbac.authorization.k8s.io"}
    if None in rules:
        docs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                     "metadata": {"name": request.name, "labels": labels}, "rules": _rules(rules[None])})
        docs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                     "metadata": {"name": request.name, "labels": labels},
                     "roleRef": {**role_ref, "kind": "ClusterRole", "name": request.name}, "subjects": subject})
    for namespace in sorted(n for n in rules if n is not None):
        meta = {"name": request.name, "namespace": namespace, "labels": labels}
        docs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta,
                     "rules": _rules(rules[namespace])})
        docs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": dict(meta),
                     "roleRef": {**role_ref, "kind": "Role", "name": request.name}, "subjects": subject})
    return docs


def _rules(grants: dict[tuple[str, str], set[str]]) -> list[dict[str, Any]]:
    """One rule per API group and set of verbs, listing its resources: short, and stable to diff."""
    merged: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for (group, resource), verbs in sorted(grants.items()):
        ordered = tuple(v for v in _VERB_ORDER if v in verbs)
        merged.setdefault((group, ordered), []).append(resource)
    return [{"apiGroups": [group], "resources": resources, "verbs": list(verbs)}
            for (group, verbs), resources in sorted(merged.items())]


def render(documents: Iterable[dict[str, Any]], *, header: str) -> str:
    """YAML documents behind a comment saying how they were made."""
    body: str = yaml.safe_dump_all(list(documents), sort_keys=False, default_flow_style=False)
    comment = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    return comment + "---\n" + body


def rbac_header(read_only: bool) -> str:
    what = ("Read-only access for --validate-only and --dry-run" if read_only
            else "Everything asyncswitch does on a hub, for every method and old-hub action")
    return (f"{what}.\nGenerated from asyncswitch's permission tables by `python -m asyncswitch rbac"
            f"{' --read-only' if read_only else ''}`: do not edit by hand.")
