"""Store.add_mutation: what schema pruning and mutating webhooks see and change, and what they never touch."""

from __future__ import annotations

from typing import Any

from asyncswitch.sim.resources import ResourceType
from asyncswitch.sim.store import Store

from .support import WIDGETS

MERGE = "application/merge-patch+json"


def drop_color(_verb: str, rtype: ResourceType, obj: dict[str, Any]) -> None:
    spec = obj.get("spec")
    if rtype.key == WIDGETS.key and isinstance(spec, dict) and "color" in spec:
        obj["spec"] = {k: v for k, v in spec.items() if k != "color"}


def store_with_widgets() -> Store:
    store = Store()
    store.register(WIDGETS)
    store.add_mutation(drop_color)
    return store


def test_a_mutation_prunes_a_field_on_create_and_on_patch_without_changing_the_generation() -> None:
    store = store_with_widgets()
    created = store.create(WIDGETS, "default", {"apiVersion": "example.io/v1", "kind": "Widget",
                                                "metadata": {"name": "w"}, "spec": {"size": 1, "color": "red"}})
    assert created.obj["spec"] == {"size": 1}
    patched = store.patch(WIDGETS, "default", "w", MERGE, {"spec": {"color": "blue"}})
    assert patched.obj["spec"] == {"size": 1}
    assert patched.obj["metadata"]["generation"] == 1
    assert patched.rv == created.rv  # pruned to no change: no write, no event


def test_a_mutation_does_not_run_on_status_writes_and_can_be_removed() -> None:
    store = Store()
    store.register(WIDGETS)
    seen: list[str] = []
    remove = store.add_mutation(lambda verb, _rtype, _obj: seen.append(verb))
    store.create(WIDGETS, "default", {"apiVersion": "example.io/v1", "kind": "Widget", "metadata": {"name": "w"}})
    store.patch(WIDGETS, "default", "w", MERGE, {"status": {"phase": "Ready"}}, subresource="status")
    store.patch(WIDGETS, "default", "w", MERGE, {"spec": {"size": 2}})
    remove()
    store.patch(WIDGETS, "default", "w", MERGE, {"spec": {"size": 3}})
    assert seen == ["create", "update"]
