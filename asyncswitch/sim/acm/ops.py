"""Small write helpers the simulated controllers share; all go through the hub's store."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..errors import AlreadyExists, NotFound
from ..resources import ResourceType
from ..store import Store, StoredObject

__all__ = ["MERGE", "condition", "ensure", "merge_conditions", "now_iso", "patch", "patch_status"]

MERGE = "application/merge-patch+json"


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ensure(store: Store, rtype: ResourceType, body: dict[str, Any]) -> StoredObject:
    """Create ``body`` unless an object of that name exists; returns what is stored."""
    meta = body["metadata"]
    try:
        return store.create(rtype, meta.get("namespace"), body)
    except AlreadyExists:
        return store.get(rtype, meta.get("namespace"), meta["name"])


def patch(
    store: Store, rtype: ResourceType, namespace: str | None, name: str, body: dict[str, Any]
) -> StoredObject | None:
    """Merge-patch an object; None if it is gone (controllers race deletions like real ones do)."""
    try:
        return store.patch(rtype, namespace, name, MERGE, body)
    except NotFound:
        return None


def patch_status(
    store: Store, rtype: ResourceType, namespace: str | None, name: str, status: dict[str, Any]
) -> StoredObject | None:
    try:
        return store.patch(rtype, namespace, name, MERGE, {"status": status}, subresource="status")
    except NotFound:
        return None


def condition(kind: str, status: str, reason: str, message: str = "") -> dict[str, Any]:
    return {"type": kind, "status": status, "reason": reason, "message": message,
            "lastTransitionTime": now_iso()}


def merge_conditions(existing: list[dict[str, Any]] | None, *updates: dict[str, Any]) -> list[dict[str, Any]]:
    """Replace conditions by type, keeping lastTransitionTime when the status did not change."""
    out = [dict(c) for c in existing or []]
    for update in updates:
        for i, old in enumerate(out):
            if old.get("type") == update["type"]:
                if old.get("status") == update["status"]:
                    kept = old.get("lastTransitionTime", update["lastTransitionTime"])
                    update = {**update, "lastTransitionTime": kept}
                out[i] = update
                break
        else:
            out.append(update)
    return out
