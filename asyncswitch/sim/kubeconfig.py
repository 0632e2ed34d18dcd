"""Kubeconfig documents for emulated servers, written with owner-only permissions."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from ..files import write_atomic
from .server import ApiServer

__all__ = ["kubeconfig_for", "write_kubeconfig"]


def kubeconfig_for(servers: Iterable[ApiServer], *, read_only: bool = False,
                   tokens: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A kubeconfig with one cluster, user and context per server, named after the server.

    ``tokens`` (server name → token, e.g. from ``ApiServer.issue_token``) replaces the hubs' own tokens.
    """
    clusters, users, contexts = [], [], []
    for server in servers:
        cluster: dict[str, Any] = {"server": server.url}
        if server.ca_pem:
            cluster["certificate-authority-data"] = base64.b64encode(server.ca_pem).decode()
        if tokens is not None:
            user, token = f"{server.name}-token", tokens[server.name]
        else:
            user = f"{server.name}-viewer" if read_only else f"{server.name}-admin"
            token = server.read_only_token if read_only else server.token
        clusters.append({"name": server.name, "cluster": cluster})
        users.append({"name": user, "user": {"token": token}})
        contexts.append({"name": server.name, "context": {"cluster": server.name, "user": user}})
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": clusters,
        "users": users,
        "contexts": contexts,
        "current-context": contexts[0]["name"] if contexts else "",
    }


def write_kubeconfig(path: str | os.PathLike[str], document: dict[str, Any]) -> Path:
    """Write atomically with mode 0600: the file holds bearer tokens."""
    target = Path(path)
    write_atomic(target, yaml.safe_dump(document, sort_keys=False).encode(), mode=0o600)
    return target
