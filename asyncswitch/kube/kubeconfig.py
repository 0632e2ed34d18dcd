"""Reading kubeconfig files: the contexts they hold, and one API client per context."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import getproxies, proxy_bypass

import aiohttp
import yaml
from kubernetes_asyncio import client, config
from kubernetes_asyncio.config.config_exception import ConfigException

from ..errors import ConfigError
from .transport import send_time_tracing

__all__ = ["api_client_for", "env_proxy_for", "list_contexts"]


def _read(path: str | os.PathLike[str]) -> dict[str, Any]:
    target = Path(path)
    try:
        text = target.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read kubeconfig {target}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"kubeconfig {target} is not text (a binary file?)") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError(f"kubeconfig {target} is not valid YAML{where}") from None
    if not isinstance(document, dict) or not isinstance(document.get("contexts"), list):
        raise ConfigError(f"kubeconfig {target} has no contexts list; is it a kubeconfig file?")
    return document


def list_contexts(path: str | os.PathLike[str]) -> list[str]:
    """The context names in a kubeconfig, in file order; ConfigError if it cannot be read."""
    contexts = _read(path)["contexts"]
    return [str(c["name"]) for c in contexts if isinstance(c, dict) and c.get("name")]


def _check_context(path: str | os.PathLike[str], document: dict[str, Any], context: str) -> None:
    """The context exists and names a cluster (and a user, if any) that the file defines."""
    entries = {c.get("name"): c.get("context") or {} for c in document["contexts"] if isinstance(c, dict)}
    if context not in entries:
        known = ", ".join(str(n) for n in entries if n) or "none"
        raise ConfigError(f"context {context!r} is not in kubeconfig {path} (contexts: {known})")
    entry = entries[context]
    for kind, plural in (("cluster", "clusters"), ("user", "users")):
        wanted = entry.get(kind)
        if wanted is None and kind == "user":
            continue
        defined = {c.get("name"): c.get(kind) for c in document.get(plural) or [] if isinstance(c, dict)}
        if wanted not in defined:
            raise ConfigError(f"context {context!r} in kubeconfig {path} names {kind} {wanted!r}, "
                              f"which the file does not define")
        if kind == "cluster":
            server = (defined[wanted] or {}).get("server") if isinstance(defined[wanted], dict) else None
            parts = urlsplit(server) if isinstance(server, str) else None
            if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
                raise ConfigError(f"cluster {wanted!r} in kubeconfig {path} has no server URL (http or https) "
                                  f"for context {context!r}")


@asynccontextmanager
async def api_client_for(path: str | os.PathLike[str], context: str) -> AsyncIterator[client.ApiClient]:
    """A kubernetes_asyncio ApiClient of its own for one context (never the process-wide default),
    closed on exit."""
    _check_context(path, _read(path), context)
    try:
        api_client: client.ApiClient = await config.new_client_from_config(
            config_file=str(path), context=context, persist_config=False)
    except (ConfigException, KeyError, TypeError, ValueError, OSError) as exc:
        # The library's messages name a missing key; never echo its values (they may hold tokens).
        raise ConfigError(f"kubeconfig {path}, context {context!r}: {type(exc).__name__}: "
                          f"{str(exc).splitlines()[0] if str(exc) else 'incomplete entry'}") from None
    # kubernetes_asyncio's session trusts the environment, so aiohttp looks up proxy variables and
    # ~/.netrc in a worker thread before every request: about three times the CPU of the request
    # itself (benchmarks in docs/performance.md), and a ~/.netrc entry for the hub's host would clash
    # with the bearer token. The proxy is settled once here; requests go through a session that does
    # not look again, sharing the library's connector (and so its TLS settings).
    rest = api_client.rest_client
    if not rest.proxy and (proxy := env_proxy_for(api_client.configuration.host or "")):
        rest.proxy = proxy
    trusting: aiohttp.ClientSession = rest.pool_manager
    rest.pool_manager = aiohttp.ClientSession(connector=trusting.connector, connector_owner=False,
                                              read_bufsize=2**21, trace_configs=[send_time_tracing()])
    try:
        async with api_client:
            yield api_client
    finally:
        await trusting.close()  # it owns the connector


def env_proxy_for(server: str) -> str | None:
    """The proxy the environment (HTTPS_PROXY, HTTP_PROXY, NO_PROXY) names for a server URL, as curl,
    kubectl and aiohttp read it; None for a direct connection."""
    parts = urlsplit(server)
    if not parts.hostname or proxy_bypass(parts.hostname):
        return None
    return getproxies().get(parts.scheme) or None
