"""The three patch formats a Kubernetes API server accepts, as pure functions.

Each returns a new document and leaves its inputs untouched, so stored objects are never
changed in place.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch

from .errors import BadRequest, Invalid, UnsupportedMediaType

__all__ = [
    "JSON_PATCH",
    "MERGE_PATCH",
    "STRATEGIC_MERGE_PATCH",
    "apply_patch",
    "check_patch_type",
    "json_patch",
    "merge_patch",
    "strategic_merge_patch",
]

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"

# Lists in built-in types that strategic merge combines element by element, by this key.
# Keyed by field name alone: the same names mean the same thing wherever they occur in the
# types the emulator serves.
_MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "volumes": "name",
    "env": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "ports": "containerPort",
    "imagePullSecrets": "name",
    "conditions": "type",
    "ownerReferences": "uid",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
    "containerStatuses": "name",
    "initContainerStatuses": "name",
}
# Lists of scalars that strategic merge treats as sets (merged, not replaced).
_SET_LISTS = {"finalizers"}


def _copy_json(value: Any) -> Any:
    """A copy of a JSON value (dicts, lists, scalars): what deepcopy does for them, several times
    faster, which matters at one patch per managed cluster per step (docs/performance.md)."""
    if isinstance(value, dict):
        return {k: _copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy_json(v) for v in value]
    return value


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, ``null`` deletes a key, anything else replaces."""
    if not isinstance(patch, dict):
        return _copy_json(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def json_patch(target: dict[str, Any], operations: Any) -> dict[str, Any]:
    """RFC 6902 operations (add, remove, replace, move, copy, test)."""
    if not isinstance(operations, list):
        raise BadRequest("json patch must be a list of operations")
    try:
        result = jsonpatch.JsonPatch(operations).apply(target, in_place=False)
    except jsonpatch.JsonPatchTestFailed as exc:
        raise Invalid(f"the server rejected our request due to an error in our request: {exc}") from exc
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError, KeyError) as exc:
        raise Invalid(f"the server rejected our request due to an error in our request: {exc}") from exc
    if not isinstance(result, dict):
        raise Invalid("json patch must leave an object")
    return result


def _strip_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_directives(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [_strip_directives(v) for v in value]
    return value


def _merge_list(field: str, target: list[Any], patch: list[Any]) -> list[Any]:
    if field in _SET_LISTS:
        merged = list(target)
        merged.extend(v for v in patch if v not in merged)
        return merged
    key = _MERGE_KEYS.get(field)
    if key is None or not all(isinstance(v, dict) for v in patch):
        return _strip_directives(patch)  # type: ignore[no-any-return]
    merged = [copy.deepcopy(v) for v in target]
    for item in patch:
        directive = item.get("$patch")
        index = next((i for i, v in enumerate(merged) if isinstance(v, dict) and v.get(key) == item.get(key)), None)
        if directive == "delete":
            if index is not None:
                merged.pop(index)
        elif index is None:
            merged.append(_strip_directives(item))
        else:
            merged[index] = strategic_merge_patch(merged[index], item)
    return merged


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    """Kubernetes strategic merge for built-in types.

    Maps merge like RFC 7386; lists with a known merge key (containers by name, env by name,
    ports by containerPort, ...) merge element by element; ``$patch: delete|replace`` and
    ``$deleteFromPrimitiveList`` are honoured; ``$setElementOrder`` and ``$retainKeys`` hints
    (sent by ``kubectl apply``) are accepted and ignored.
    """
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return _strip_directives(patch)
    if patch.get("$patch") == "delete":
        return None
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            result[field] = [v for v in result.get(field) or [] if v not in value]
        elif key.startswith("$"):
            continue  # $setElementOrder/..., $retainKeys: ordering/pruning hints
        elif value is None:
            result.pop(key, None)
        elif isinstance(value, list) and isinstance(result.get(key), list):
            result[key] = _merge_list(key, result[key], value)
        elif isinstance(value, dict):
            merged = strategic_merge_patch(result.get(key), value)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        else:
            result[key] = _strip_directives(value)
    return result


def check_patch_type(content_type: str, *, builtin: bool) -> None:
    """Raise 415 for a media type the server does not take for this kind of resource."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media in (MERGE_PATCH, JSON_PATCH) or (media == STRATEGIC_MERGE_PATCH and builtin):
        return
    accepted = [JSON_PATCH, MERGE_PATCH] + ([STRATEGIC_MERGE_PATCH] if builtin else [])
    raise UnsupportedMediaType(
        f"the body of the request was in an unknown format - accepted media types include: {', '.join(accepted)}"
    )


def apply_patch(content_type: str, target: dict[str, Any], patch: Any, *, builtin: bool) -> dict[str, Any]:
    """Apply a PATCH body of the given media type, with the API server's 415 rules."""
    check_patch_type(content_type, builtin=builtin)
    media = content_type.split(";", 1)[0].strip().lower()
    if media == MERGE_PATCH:
        if not isinstance(patch, dict):
            raise BadRequest("merge patch body must be a JSON object")
        return merge_patch(target, patch)  # type: ignore[no-any-return]
    if media == JSON_PATCH:
        return json_patch(target, patch)
    if not isinstance(patch, dict):
        raise BadRequest("strategic merge patch body must be a JSON object")
    return strategic_merge_patch(target, patch)  # type: ignore[no-any-return]
