"""Observing the simulated hubs the way a user would: list, then watch, with a deadline.

``wait_for`` keeps a cache of every object of one resource type (filled by a LIST, kept
current by a WATCH from the list's resourceVersion) and re-evaluates a predicate over the
whole cache on every event, so a condition that spans many objects ("every cluster is
Available") is seen the moment it holds, never inferred from a single event. A 410 from the
watch relists; a watch the server ends is resumed from the last resourceVersion seen.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from kubernetes_asyncio import client, watch
from kubernetes_asyncio.client.exceptions import ApiException

Obj = dict[str, Any]
Predicate = Callable[[list[Obj]], bool]

DEADLINE = 10.0
"""Seconds to wait for something the simulator does at once or within a fast-profile moment."""

WATCH_SECONDS = 30
"""timeoutSeconds of each watch request (the helper resumes a watch the server ended)."""


def collection_path(group: str, version: str, plural: str, namespace: str | None = None) -> str:
    root = f"/apis/{group}/{version}" if group else f"/api/{version}"
    return f"{root}/namespaces/{namespace}/{plural}" if namespace else f"{root}/{plural}"


async def _list_raw(api: client.ApiClient, path: str, **params: Any) -> Any:
    """GET a collection as plain dicts; with ``watch=True`` and ``_preload_content=False`` the raw stream.

    :rtype: object
    """
    names = {"watch": "watch", "resource_version": "resourceVersion", "timeout_seconds": "timeoutSeconds",
             "allow_watch_bookmarks": "allowWatchBookmarks", "label_selector": "labelSelector",
             "field_selector": "fieldSelector"}
    query = [(names[k], v) for k, v in params.items() if k in names and v is not None]
    return await api.call_api(
        path, "GET", {}, query, {"Accept": "application/json"},
        response_types_map={200: "object"}, auth_settings=["BearerToken"], _return_http_data_only=True,
        _preload_content=params.get("_preload_content", True))


def key_of(obj: Obj) -> str:
    meta = obj["metadata"]
    return f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else str(meta["name"])


@dataclass
class Snapshot:
    """Every object of one resource type at one resourceVersion."""

    objects: dict[str, Obj]
    resource_version: str

    @property
    def items(self) -> list[Obj]:
        return [self.objects[k] for k in sorted(self.objects)]

    def names(self) -> set[str]:
        return {o["metadata"]["name"] for o in self.objects.values()}


async def snapshot(api: client.ApiClient, group: str, version: str, plural: str, *,
                   namespace: str | None = None, label_selector: str | None = None) -> Snapshot:
    """One LIST: the objects and the resourceVersion a watch can start from."""
    listing = await _list_raw(api, collection_path(group, version, plural, namespace), label_selector=label_selector)
    items = listing.get("items") or []
    return Snapshot({key_of(o): o for o in items}, str(listing["metadata"]["resourceVersion"]))


async def wait_for(
    api: client.ApiClient,
    group: str,
    version: str,
    plural: str,
    predicate: Predicate,
    *,
    namespace: str | None = None,
    label_selector: str | None = None,
    timeout: float = DEADLINE,  # noqa: ASYNC109 - the deadline is the point of this helper
    after: Snapshot | None = None,
) -> list[Obj]:
    """Wait until ``predicate(objects)`` holds for the objects of a type; returns them (sorted by key).

    Without ``after`` it lists first and watches from the list's resourceVersion; with ``after``
    (a :func:`snapshot` taken earlier) it starts from that snapshot and replays every change
    since, so a predicate that records what it sees misses no step of a transition.
    Raises TimeoutError when the deadline passes first.
    """
    path = collection_path(group, version, plural, namespace)
    cache: dict[str, Obj] = {}
    start = after
    try:
        async with asyncio.timeout(timeout):
            while True:  # list (or start from the snapshot), then watch; a 410 Gone lists afresh
                if start is None:
                    start = await snapshot(api, group, version, plural, namespace=namespace,
                                           label_selector=label_selector)
                cache = dict(start.objects)
                rv, start = start.resource_version, None
                if predicate(_sorted(cache)):
                    return _sorted(cache)
                try:
                    while True:  # resume a watch the server ended, from the last resourceVersion seen
                        async with watch.Watch() as w:
                            async for event in w.stream(_list_raw, api, path, resource_version=rv,
                                                        label_selector=label_selector,
                                                        timeout_seconds=WATCH_SECONDS, allow_watch_bookmarks=True):
                                obj = event["raw_object"]
                                rv = str(obj["metadata"]["resourceVersion"])
                                if event["type"] == "BOOKMARK":
                                    continue
                                if event["type"] == "DELETED":
                                    cache.pop(key_of(obj), None)
                                else:
                                    cache[key_of(obj)] = obj
                                if predicate(_sorted(cache)):
                                    return _sorted(cache)
                except ApiException as exc:
                    if exc.status != 410:
                        raise  # anything but an expired resourceVersion is the test's business
    except TimeoutError:
        seen = ", ".join(f"{k}={phase(o)}" for k, o in sorted(cache.items())) or "nothing"
        raise WaitTimeout(f"{plural} did not satisfy the predicate within {timeout}s; last seen: {seen}") from None


class WaitTimeout(TimeoutError):
    """The deadline of :func:`wait_for` passed; the message says what was seen last."""


def _sorted(cache: dict[str, Obj]) -> list[Obj]:
    return [cache[k] for k in sorted(cache)]


# -- reading objects ---------------------------------------------------------------------


def name_of(obj: Obj) -> str:
    return str(obj["metadata"]["name"])


def by_name(objects: Iterable[Obj]) -> dict[str, Obj]:
    return {name_of(o): o for o in objects}


def phase(obj: Obj | None) -> str | None:
    if obj is None:
        return None
    value = (obj.get("status") or {}).get("phase")
    return None if value is None else str(value)


def conditions(obj: Obj) -> dict[str, str]:
    """Condition type → status."""
    return {c["type"]: c["status"] for c in (obj.get("status") or {}).get("conditions") or []}


def labels(obj: Obj) -> dict[str, str]:
    return dict(obj["metadata"].get("labels") or {})


def annotations_of(obj: Obj) -> dict[str, str]:
    return dict(obj["metadata"].get("annotations") or {})


class PhaseLog:
    """Records, per object, the sequence of distinct values a field took (``status.phase`` by default).

    Use it inside a predicate: ``lambda objs: log.record(objs) and done(objs)``.
    """

    def __init__(self, read: Callable[[Obj], Any] = phase) -> None:
        self.read = read
        self.seen: dict[str, list[Any]] = {}
        self.deleted: set[str] = set()

    def record(self, objects: list[Obj]) -> bool:
        present = set()
        for obj in objects:
            name = key_of(obj)
            present.add(name)
            value = self.read(obj)
            history = self.seen.setdefault(name, [])
            if not history or history[-1] != value:
                history.append(value)
        self.deleted |= set(self.seen) - present
        return True
