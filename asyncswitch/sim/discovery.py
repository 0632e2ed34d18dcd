"""Discovery documents: /version, /api, /apis and the per group/version resource lists."""

from __future__ import annotations

from typing import Any

from .resources import ResourceRegistry, ResourceType

__all__ = ["EMULATED_KUBERNETES_VERSION", "api_group_list", "api_resource_list", "api_versions", "version_info"]

EMULATED_KUBERNETES_VERSION = (1, 30, 7)


def version_info() -> dict[str, str]:
    major, minor, patch = EMULATED_KUBERNETES_VERSION
    return {
        "major": str(major),
        "minor": str(minor),
        "gitVersion": f"v{major}.{minor}.{patch}+asyncswitch",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-11-01T00:00:00Z",
        "goVersion": "go1.22.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    }


def api_versions(server_address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _group(name: str, versions: list[str]) -> dict[str, Any]:
    entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


def api_group_list(registry: ResourceRegistry) -> dict[str, Any]:
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [_group(g, vs) for g, vs in registry.groups().items() if g],
    }


def api_group(registry: ResourceRegistry, name: str) -> dict[str, Any] | None:
    versions = registry.groups().get(name)
    if not versions or not name:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name, versions)}


def _entries(rtype: ResourceType) -> list[dict[str, Any]]:
    main: dict[str, Any] = {
        "name": rtype.plural,
        "singularName": rtype.singular,
        "namespaced": rtype.namespaced,
        "kind": rtype.kind,
        "verbs": list(rtype.verbs),
    }
    if rtype.short_names:
        main["shortNames"] = list(rtype.short_names)
    if rtype.categories:
        main["categories"] = list(rtype.categories)
    out = [main]
    if rtype.status_subresource:
        out.append({"name": f"{rtype.plural}/status", "singularName": "", "namespaced": rtype.namespaced,
                    "kind": rtype.kind, "verbs": ["get", "patch", "update"]})
    if rtype.scale_subresource:
        out.append({"name": f"{rtype.plural}/scale", "singularName": "", "namespaced": rtype.namespaced,
                    "group": "autoscaling", "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"]})
    if rtype.key == "serviceaccounts":
        out.append({"name": "serviceaccounts/token", "singularName": "", "namespaced": True,
                    "group": "authentication.k8s.io", "version": "v1", "kind": "TokenRequest", "verbs": ["create"]})
    return out


def api_resource_list(registry: ResourceRegistry, group: str, version: str) -> dict[str, Any] | None:
    types = registry.in_group_version(group, version)
    if not types:
        return None
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": [entry for t in types for entry in _entries(t)],
    }
