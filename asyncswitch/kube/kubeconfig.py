"""Reading kubeconfig files: the contexts they hold, and one API client per context."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from kubernetes_asyncio import client, config
from kubernetes_asyncio.config.config_exception import ConfigException

from ..errors import ConfigError

__all__ = ["api_client_for", "list_contexts"]


def _read(path: str | os.PathLike[str]) -> dict[str, Any]:
    target = Path(path)
    try:
        text = target.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read kubeconfig {target}: {exc.strerror or exc}") from None
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
        defined = {c.get("name") for c in document.get(plural) or [] if isinstance(c, dict)}
        if wanted not in defined:
            raise ConfigError(f"context {context!r} in kubeconfig {path} names {kind} {wanted!r}, "
                              f"which the file does not define")


async def api_client_for(path: str | os.PathLike[str], context: str) -> client.ApiClient:
    """A kubernetes_asyncio ApiClient of its own for one context (never the process-wide default)."""
    _check_context(path, _read(path), context)
    try:
        api_client: client.ApiClient = await config.new_client_from_config(
            config_file=str(path), context=context, persist_config=False)
    except (ConfigException, KeyError, TypeError, ValueError, OSError) as exc:
        # The library's messages name a missing key; never echo its values (they may hold tokens).
        raise ConfigError(f"kubeconfig {path}, context {context!r}: {type(exc).__name__}: "
                          f"{str(exc).splitlines()[0] if str(exc) else 'incomplete entry'}") from None
    return api_client
