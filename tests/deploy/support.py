"""Granting the generated RBAC on the simulated hubs and driving them with the ServiceAccount's token,
as deploy/hub does on real hubs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from asyncswitch.rbac import RbacRequest, every_option, needed, rbac_documents
from asyncswitch.sim import ApiServer
from asyncswitch.sim.acm import SimulatedHubPair
from asyncswitch.sim.kubeconfig import kubeconfig_for, write_kubeconfig
from asyncswitch.switchover.permissions import Permission

NAMESPACE = SERVICE_ACCOUNT = "asyncswitch"

_PLURALS = {"ClusterRole": "clusterroles", "ClusterRoleBinding": "clusterrolebindings", "Role": "roles",
            "RoleBinding": "rolebindings", "ServiceAccount": "serviceaccounts", "Namespace": "namespaces"}


def full_role() -> RbacRequest:
    return RbacRequest(every_option())


def read_only_role() -> RbacRequest:
    return RbacRequest(every_option(), read_only=True, name="asyncswitch-read-only")


def grant(server: ApiServer, documents: Iterable[Mapping[str, Any]]) -> str:
    """Put the namespace, the ServiceAccount and ``documents`` on the hub (replacing any RBAC the
    ServiceAccount had); return a token for the ServiceAccount."""
    store = server.store
    for plural in ("clusterrolebindings", "rolebindings", "clusterroles", "roles"):
        rtype = store.type_of(plural, "rbac.authorization.k8s.io")
        for obj in store.objects(rtype):
            meta = obj["metadata"]
            if meta["name"].startswith("asyncswitch"):
                store.delete(rtype, meta.get("namespace"), meta["name"])
    # One pair serves many runs here: a run refused the right to release its lease leaves it held for its
    # duration, and the next run would be refused as a second driver of the pair.
    leases = store.type_of("leases", "coordination.k8s.io")
    if store.find(leases, "open-cluster-management", "asyncswitch-run") is not None:
        store.delete(leases, "open-cluster-management", "asyncswitch-run")
    namespaces = store.type_of("namespaces")
    if store.find(namespaces, None, NAMESPACE) is None:
        store.create(namespaces, None, {"metadata": {"name": NAMESPACE}})
    accounts = store.type_of("serviceaccounts")
    if store.find(accounts, NAMESPACE, SERVICE_ACCOUNT) is None:
        store.create(accounts, NAMESPACE, {"metadata": {"name": SERVICE_ACCOUNT, "namespace": NAMESPACE}})
    for doc in documents:
        group = "" if doc["apiVersion"] == "v1" else doc["apiVersion"].split("/")[0]
        rtype = store.type_of(_PLURALS[doc["kind"]], group)
        store.create(rtype, doc["metadata"].get("namespace"), dict(doc))
    return server.issue_token(NAMESPACE, SERVICE_ACCOUNT)


def grant_both(pair: SimulatedHubPair, path: Path, request: RbacRequest,
               rows: Iterable[Permission] | None = None) -> Path:
    """Grant the role on both hubs; write a kubeconfig (contexts hub-a and hub-b) with the tokens."""
    documents = rbac_documents(request, None if rows is None else list(rows))
    servers = pair.servers.servers
    tokens = {server.name: grant(server, documents) for server in servers}
    return write_kubeconfig(path, kubeconfig_for(servers, tokens=tokens))


def rows_without(request: RbacRequest, row: Permission) -> list[Permission]:
    """The role's rows less every row granting what ``row`` grants (one verb on one resource, one scope)."""
    key = _grant(row)
    return [p for p in needed(request) if _grant(p) != key]


def grants(request: RbacRequest) -> dict[tuple[str, str, str, str | None], Permission]:
    """Each distinct grant of the role (verb, group, resource, namespace) with a row that needs it."""
    out: dict[tuple[str, str, str, str | None], Permission] = {}
    for p in needed(request):
        out.setdefault(_grant(p), p)
    return out


def _grant(p: Permission) -> tuple[str, str, str, str | None]:
    return (p.verb, p.resource.group, p.rbac_resource, p.namespace if p.resource.namespaced else None)
