"""The new hub's auto-import strategy during a switchover (--manage-auto-import-strategy).

ACM 2.14+ defaults to ImportOnly: a hub does not import again a cluster it knew before, so clusters that
come back to a hub they once left can stay unimported. The runbook's optional step sets the MCE
ConfigMap ``import-controller-config`` to ImportAndSync on the new hub before activation (4b) and
resets it once the clusters have joined (step 7). Only what this run set is reset: the state records
whether it set the strategy and what was there before (``previous`` None: no ConfigMap).
"""

from __future__ import annotations

from typing import Any

from ..kube import CONFIG_MAPS
from .context import SwitchoverContext
from .facts import version_at_least
from .names import IMPORT_CONFIGMAP, MCE_NAMESPACE

__all__ = ["IMPORT_AND_SYNC", "reset_auto_import_strategy", "set_import_and_sync"]

IMPORT_AND_SYNC = "ImportAndSync"
_KEY = "autoImportStrategy"


def applies(ctx: SwitchoverContext) -> bool:
    return ctx.options.manage_auto_import_strategy and version_at_least(
        str(ctx.facts.get("secondary_version") or ""), 2, 14)


async def set_import_and_sync(ctx: SwitchoverContext) -> None:
    hub = ctx.secondary
    config = await hub.get(CONFIG_MAPS, IMPORT_CONFIGMAP, MCE_NAMESPACE)
    current = ((config or {}).get("data") or {}).get(_KEY)
    if "auto_import_strategy" not in ctx.facts:
        ours = current != IMPORT_AND_SYNC
        await ctx.remember(auto_import_strategy={
            "set": ours, "previous": (current or "ImportOnly") if config is not None else None})
    if not ctx.facts["auto_import_strategy"]["set"] or current == IMPORT_AND_SYNC:
        return
    if config is None:
        body: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap",
                                "metadata": {"name": IMPORT_CONFIGMAP, "namespace": MCE_NAMESPACE},
                                "data": {_KEY: IMPORT_AND_SYNC}}
        await ctx.create(hub, CONFIG_MAPS, body, MCE_NAMESPACE)
    else:
        await ctx.patch(hub, CONFIG_MAPS, IMPORT_CONFIGMAP, {"data": {_KEY: IMPORT_AND_SYNC}}, MCE_NAMESPACE)


async def reset_auto_import_strategy(ctx: SwitchoverContext) -> None:
    record = ctx.facts.get("auto_import_strategy") or {}
    if not record.get("set"):
        return
    hub = ctx.secondary
    previous = record.get("previous")
    if previous is None:
        await ctx.delete(hub, CONFIG_MAPS, IMPORT_CONFIGMAP, MCE_NAMESPACE)
    elif await hub.get(CONFIG_MAPS, IMPORT_CONFIGMAP, MCE_NAMESPACE) is not None:
        await ctx.patch(hub, CONFIG_MAPS, IMPORT_CONFIGMAP, {"data": {_KEY: previous}}, MCE_NAMESPACE)
