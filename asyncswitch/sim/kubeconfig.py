"""Kubeconfig documents for emulated servers, written with owner-only permissions."""

from __future__ import annotations

import base64
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from .server import ApiServer

__all__ = ["kubeconfig_for", "write_kubeconfig"]


def kubeconfig_for(servers: Iterable[ApiServer], *, read_only: bool = False) -> dict[str, Any]:
    """A kubeconfig with one cluster, user and context per server, named after the server."""
    clusters, users, contexts = [], [], []
    for server in servers:
        cluster: dict[str, Any] = {"server": server.url}
        if server.ca_pem:
            cluster["certificate-authority-data"] = base64.b64encode(server.ca_pem).decode()
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
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".kubeconfig-", dir=target.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as fh:
            yaml.safe_dump(document, fh, sort_keys=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
