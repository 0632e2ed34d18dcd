"""The in-memory object store behind one emulated API server.

The HTTP layer and in-process simulated controllers both go through this store, so every
change, whoever makes it, gets a resourceVersion and reaches every matching watch.

Stored objects are owned by the store and never changed in place: each write builds a new
dict, encodes it once, and keeps both. Readers get the stored dict (read-only by contract)
or a fresh copy with :meth:`StoredObject.to_dict`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import bisect
import builtins
import ipaddress
import itertools
import json
import random
import re
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, NamedTuple

from .errors import AlreadyExists, BadRequest, Conflict, Expired, Forbidden, Invalid, NotFound
from .patching import apply_patch, check_patch_type
from .resources import ResourceRegistry, ResourceType
from .selectors import FieldSelector, LabelSelector

__all__ = [
    "ADDED",
    "DELETED",
    "MODIFIED",
    "ListResult",
    "Store",
    "StoredObject",
    "Watch",
    "WatchEvent",
    "encode",
]

ADDED, MODIFIED, DELETED = "ADDED", "MODIFIED", "DELETED"
DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
SERVICE_NETWORK = "10.96.0.0/12"
"""Where Services get their clusterIP from (the first address is the ``kubernetes`` Service's)."""

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_SERVER_FIELDS = ("uid", "creationTimestamp", "resourceVersion", "generation", "deletionTimestamp",
                  "deletionGracePeriodSeconds")


def encode(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def _now_rfc3339(clock: Callable[[], datetime]) -> str:
    return clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class StoredObject:
    """One stored object version: the dict (read-only) and its JSON encoding.

    The encoding is made on first use and kept: most versions the simulated controllers write are
    never served over HTTP (nobody watches or reads them before the next write), and encoding every
    one of them was a sixth of the simulator's CPU in a 3,500-cluster switchover (docs/performance.md).
    """

    obj: dict[str, Any]
    rv: int
    _raw: bytes | None = field(default=None, compare=False, repr=False)

    @property
    def raw(self) -> bytes:
        raw = self._raw
        if raw is None:
            raw = encode(self.obj)
            object.__setattr__(self, "_raw", raw)  # a cache of a frozen value, not a change of it
        return raw

    def to_dict(self) -> dict[str, Any]:
        """A fresh copy the caller may change."""
        return json.loads(self.raw)  # type: ignore[no-any-return]

    @property
    def name(self) -> str:
        return str(self.obj["metadata"]["name"])

    @property
    def namespace(self) -> str | None:
        namespace: str | None = self.obj["metadata"].get("namespace")
        return namespace


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """A change as the store recorded it (before per-watch selector translation)."""

    type: str
    current: StoredObject
    previous: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class ListResult:
    items: list[StoredObject]
    resource_version: int
    continue_token: str
    remaining: int | None


class _ObjectKey(NamedTuple):
    """(namespace or "", name): hashable, and ordered the way lists return objects."""

    namespace: str
    name: str


class Watch:
    """One open watch: a filtered feed of events for one resource type.

    Iterate it for ``(event_type, StoredObject)`` pairs; iteration ends when the watch is
    closed by the store (type removed, consumer too slow, fault injected) or by :meth:`close`.
    """

    def __init__(
        self,
        rtype: ResourceType,
        *,
        namespace: str | None,
        labels: LabelSelector,
        fields: FieldSelector,
        max_backlog: int,
    ) -> None:
        self.rtype = rtype
        self.namespace = namespace
        self.labels = labels
        self.fields = fields
        self._max_backlog = max_backlog
        self._queue: asyncio.Queue[tuple[str, StoredObject] | None] = asyncio.Queue()
        self.closed_reason: str | None = None
        self._on_close: Callable[[Watch], None] | None = None

    def _matches(self, obj: dict[str, Any] | None) -> bool:
        if obj is None:
            return False
        meta = obj["metadata"]
        if self.namespace is not None and meta.get("namespace") != self.namespace:
            return False
        return self.labels.matches(obj) and self.fields.matches(obj)

    def offer(self, event: WatchEvent) -> None:
        if self.closed_reason is not None:
            return
        now = self._matches(event.current.obj)
        if event.type == ADDED:
            kind = ADDED if now else None
        elif event.type == DELETED:
            kind = DELETED if now else None
        else:
            before = self._matches(event.previous)
            # An object entering or leaving the selection is ADDED or DELETED for this watch.
            kind = MODIFIED if (now and before) else ADDED if now else DELETED if before else None
        if kind is None:
            return
        if self._queue.qsize() >= self._max_backlog:
            self.close("consumer too slow")
            return
        self._queue.put_nowait((kind, event.current))

    def close(self, reason: str = "closed") -> None:
        if self.closed_reason is None:
            self.closed_reason = reason
            self._queue.put_nowait(None)
            if self._on_close is not None:
                self._on_close(self)

    def pending(self) -> int:
        return self._queue.qsize()

    async def next(self) -> tuple[str, StoredObject] | None:
        """The next event, or None once the watch is closed."""
        item = await self._queue.get()
        if item is None:
            self._queue.put_nowait(None)  # keep answering None
        return item

    def next_nowait(self) -> tuple[str, StoredObject] | None:
        """The next event if one is queued, else None (also None when closed)."""
        if self._queue.empty():
            return None
        item = self._queue.get_nowait()
        if item is None:
            self._queue.put_nowait(None)
        return item

    def __aiter__(self) -> AsyncIterator[tuple[str, StoredObject]]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[tuple[str, StoredObject]]:
        while (item := await self.next()) is not None:
            yield item

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class _TypeState:
    rtype: ResourceType
    objects: dict[_ObjectKey, StoredObject] = field(default_factory=dict)
    history: deque[tuple[int, WatchEvent]] = field(default_factory=deque)
    expired_rv: int = 0
    """Events at or below this resourceVersion are gone from history (410 for a watch from before it)."""
    watches: set[Watch] = field(default_factory=set)
    order: builtins.list[_ObjectKey] = field(default_factory=list)
    """(namespace, name) of every object, kept sorted: lists walk it instead of sorting per request."""


_MIN_HISTORY = 200
_HISTORY_PER_OBJECT = 2


class Store:
    """Objects of every served type, one resourceVersion counter, bounded watch history."""

    def __init__(
        self,
        registry: ResourceRegistry | None = None,
        *,
        seed: int = 0,
        history_size: int = 10_000,
        watch_backlog: int = 100_000,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.registry = registry or ResourceRegistry.with_builtins()
        self._rng = random.Random(seed)
        self._history_size = history_size
        self._watch_backlog = watch_backlog
        self._clock = clock
        self._rv = 0
        self._types: dict[str, _TypeState] = {}
        self._listeners: list[Callable[[ResourceType, WatchEvent], None]] = []
        self._admission: list[Callable[[str, ResourceType, dict[str, Any]], None]] = []
        self._service_ips = ipaddress.IPv4Network(SERVICE_NETWORK).hosts()
        self._mutations: list[Callable[[str, ResourceType, dict[str, Any]], None]] = []
        for rtype in self.registry:
            self._types.setdefault(rtype.key, _TypeState(rtype))
        for ns in DEFAULT_NAMESPACES:
            self.create(self.type_of("namespaces"), None, {"metadata": {"name": ns}})
        self.create(self.type_of("services"), "default", {
            "metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]},
        })
        for rtype in list(self.registry):
            if not rtype.builtin:
                self._create_crd_for(rtype)

    # -- types ---------------------------------------------------------------------------

    @property
    def resource_version(self) -> int:
        return self._rv

    def type_of(self, plural: str, group: str = "") -> ResourceType:
        """The registered type for a plural and group (``type_of("deployments", "apps")``)."""
        return self.registry.by_key(f"{plural}.{group}" if group else plural)

    def register(self, rtype: ResourceType) -> ResourceType:
        """Serve a custom resource type; its CRD object appears as real API servers show it."""
        if not rtype.builtin:
            # Served from a CRD, a custom resource answers DELETE with the deleted object.
            rtype = replace(rtype, delete_returns_object=True)
        if self.registry.add(rtype):
            self._types.setdefault(rtype.key, _TypeState(rtype))
            self._create_crd_for(rtype)
        return self.registry.lookup(rtype.group, rtype.version, rtype.plural) or rtype

    def _crd_type(self) -> ResourceType:
        return self.type_of("customresourcedefinitions", "apiextensions.k8s.io")

    def _create_crd_for(self, rtype: ResourceType) -> None:
        crd_type = self._crd_type()
        name = f"{rtype.plural}.{rtype.group}"
        if self._state(crd_type).objects.get(_ObjectKey("", name)):
            return
        subresources: dict[str, Any] = {}
        if rtype.status_subresource:
            subresources["status"] = {}
        if rtype.scale_subresource:
            subresources["scale"] = {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"}
        names = {
            "plural": rtype.plural,
            "singular": rtype.singular,
            "kind": rtype.kind,
            "listKind": rtype.list_kind,
            **({"shortNames": list(rtype.short_names)} if rtype.short_names else {}),
            **({"categories": list(rtype.categories)} if rtype.categories else {}),
        }
        version: dict[str, Any] = {
            "name": rtype.version,
            "served": True,
            "storage": True,
            "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
            "subresources": subresources,
        }
        if rtype.printer_columns:
            version["additionalPrinterColumns"] = [
                {"name": n, "type": t, "jsonPath": p} for n, t, p in rtype.printer_columns
            ]
        body = {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": name},
            "spec": {
                "group": rtype.group,
                "names": names,
                "scope": "Namespaced" if rtype.namespaced else "Cluster",
                "versions": [version],
            },
        }
        self.create(crd_type, None, body, _internal=True)

    def _establish(self, crd: dict[str, Any]) -> StoredObject:
        """What the apiextensions controller does for a new CRD: names accepted, Established."""
        spec = crd.get("spec") or {}
        stamp = _now_rfc3339(self._clock)
        return self.patch(self._crd_type(), None, crd["metadata"]["name"], "application/merge-patch+json", {"status": {
            "acceptedNames": spec.get("names") or {},
            "storedVersions": [v.get("name") for v in spec.get("versions") or [] if v.get("storage")],
            "conditions": [
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "lastTransitionTime": stamp,
                 "message": "no conflicts found"},
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
                 "lastTransitionTime": stamp, "message": "the initial names have been accepted"},
            ],
        }}, subresource="status")

    def _types_from_crd(self, crd: dict[str, Any]) -> list[ResourceType]:
        spec = crd.get("spec") or {}
        names = spec.get("names") or {}
        out = []
        for version in spec.get("versions") or []:
            if not version.get("served", True):
                continue
            sub = version.get("subresources") or {}
            columns = tuple(
                (c.get("name", ""), c.get("type", "string"), c.get("jsonPath", ""))
                for c in version.get("additionalPrinterColumns") or []
            )
            out.append(ResourceType(
                group=spec.get("group", ""),
                version=version.get("name", "v1"),
                plural=names.get("plural", ""),
                kind=names.get("kind", ""),
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                status_subresource="status" in sub,
                scale_subresource="scale" in sub,
                short_names=tuple(names.get("shortNames") or ()),
                categories=tuple(names.get("categories") or ()),
                delete_returns_object=True,
                printer_columns=columns,
            ))
        return out

    def _state(self, rtype: ResourceType) -> _TypeState:
        try:
            return self._types[rtype.key]
        except KeyError:
            raise NotFound(f"the server could not find the requested resource ({rtype.plural})") from None

    def add_listener(self, listener: Callable[[ResourceType, WatchEvent], None]) -> Callable[[], None]:
        """Call ``listener`` synchronously on every committed change; returns a remover."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def add_admission(self, check: Callable[[str, ResourceType, dict[str, Any]], None]) -> Callable[[], None]:
        """Run ``check(verb, rtype, obj)`` before every create, update (not of status) and delete; it
        rejects by raising ApiError. On update ``obj`` is the new object; the store still holds the old one.

        Simulated admission webhooks use this (the MultiClusterHub one refuses deletion while
        ManagedClusters exist). Returns a remover.
        """
        self._admission.append(check)
        return lambda: self._admission.remove(check)

    def add_mutation(self, mutate: Callable[[str, ResourceType, dict[str, Any]], None]) -> Callable[[], None]:
        """Run ``mutate(verb, rtype, obj)`` on every create and every write of the main resource
        (``update``/``patch``, not ``status``), before it is stored; it changes ``obj`` in place.

        Schema pruning (a CRD without a field drops it) and mutating webhooks use this. Returns a remover.
        """
        self._mutations.append(mutate)
        return lambda: self._mutations.remove(mutate)

    # -- reads ---------------------------------------------------------------------------

    def get(self, rtype: ResourceType, namespace: str | None, name: str) -> StoredObject:
        found = self._state(rtype).objects.get(_ObjectKey(namespace or "", name))
        if found is None:
            raise NotFound.of(rtype.plural, name, rtype.group)
        return found

    def find(self, rtype: ResourceType, namespace: str | None, name: str) -> StoredObject | None:
        return self._state(rtype).objects.get(_ObjectKey(namespace or "", name))

    def list(
        self,
        rtype: ResourceType,
        namespace: str | None = None,
        *,
        label_selector: LabelSelector | str | None = None,
        field_selector: FieldSelector | str | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> ListResult:
        state = self._state(rtype)
        labels = _labels(label_selector)
        fields = _fields(field_selector, rtype)
        start: tuple[str, str] | None = None
        list_rv = self._rv
        if continue_token:
            token_rv, start = _decode_continue(continue_token)
            if token_rv < state.expired_rv:
                raise Expired(
                    "The provided continue parameter is too old to display a consistent list result. "
                    "You can start a new list without the continue parameter."
                )
            list_rv = token_rv
        exact = fields.exact_name()
        if exact is not None:
            order: Iterable[_ObjectKey] = sorted(k for k in state.objects if k.name == exact)
        else:
            first = bisect.bisect_right(state.order, _ObjectKey(*start)) if start is not None else 0
            order = itertools.islice(state.order, first, None)
        objects = state.objects
        selected: builtins.list[StoredObject] = []
        last: tuple[str, str] | None = None
        remaining = 0
        unfiltered = not labels.requirements and not fields.terms
        for key in order:
            if (namespace is not None and key.namespace != namespace) or (start is not None and key <= start):
                continue
            stored = objects[key]
            if not unfiltered and not (labels.matches(stored.obj) and fields.matches(stored.obj)):
                continue
            if limit and limit > 0 and len(selected) >= limit:
                remaining += 1  # counted for remainingItemCount, not returned
                continue
            selected.append(stored)
            last = key
        if remaining and last is not None:
            return ListResult(selected, list_rv, _encode_continue(list_rv, last), remaining)
        return ListResult(selected, list_rv, "", None)

    def objects(self, rtype: ResourceType, namespace: str | None = None) -> builtins.list[dict[str, Any]]:
        """Fresh copies of every object of a type (optionally in one namespace)."""
        return [s.to_dict() for s in self.list(rtype, namespace).items]

    # -- writes --------------------------------------------------------------------------

    def create(
        self,
        rtype: ResourceType,
        namespace: str | None,
        body: dict[str, Any],
        *,
        dry_run: bool = False,
        _internal: bool = False,
    ) -> StoredObject:
        obj = json.loads(encode(body))
        if not isinstance(obj, dict):
            raise BadRequest("the body must be a JSON object")
        self._check_kind(rtype, obj)
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise BadRequest("metadata must be an object")
        namespace = self._check_namespace(rtype, namespace, meta)
        state = self._state(rtype)
        if not meta.get("name"):
            prefix = meta.get("generateName")
            if not prefix:
                raise Invalid.of(rtype.kind, "", "metadata.name", "Required value: name or generateName is required")
            for _ in range(100):
                candidate = prefix + "".join(self._rng.choice(_GENERATE_ALPHABET) for _ in range(5))
                if _ObjectKey(namespace or "", candidate) not in state.objects:
                    meta["name"] = candidate
                    break
        name = meta["name"]
        self._validate_name(rtype, name)
        if _ObjectKey(namespace or "", name) in state.objects:
            raise AlreadyExists.of(rtype.plural, name, rtype.group)
        if namespace is not None and not _internal:
            self._check_namespace_open(namespace)
        for mutate in list(self._mutations):
            mutate("create", rtype, obj)
        for check in list(self._admission):
            check("create", rtype, obj)
        for server_field in _SERVER_FIELDS:
            meta.pop(server_field, None)
        meta["uid"] = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
        meta["creationTimestamp"] = _now_rfc3339(self._clock)
        if rtype.tracks_generation:
            meta["generation"] = 1
        if rtype.status_subresource and rtype.key != "namespaces":
            obj.pop("status", None)
        _apply_defaults(rtype, obj)
        if rtype.key == "services":
            _default_service(obj, self._service_ips)
        if dry_run:
            return StoredObject(obj, self._rv)
        stored = self._commit(rtype, obj, ADDED, None)
        if rtype.key == "customresourcedefinitions.apiextensions.k8s.io":
            for served in self._types_from_crd(obj):
                if self.registry.add(served):
                    self._types.setdefault(served.key, _TypeState(served))
            stored = self._establish(obj)
        return stored

    def update(
        self,
        rtype: ResourceType,
        namespace: str | None,
        name: str,
        body: dict[str, Any],
        *,
        subresource: str | None = None,
        dry_run: bool = False,
    ) -> StoredObject:
        """PUT: replace the object, with optimistic concurrency when the body has a resourceVersion."""
        new = json.loads(encode(body))
        if not isinstance(new, dict):
            raise BadRequest("the body must be a JSON object")
        current = self.get(rtype, namespace, name)
        meta = new.setdefault("metadata", {})
        if meta.get("name") not in (None, name):
            raise BadRequest(
                f'the name of the object ({meta.get("name")}) does not match the name on the URL ({name})'
            )
        wanted_rv = meta.get("resourceVersion")
        if wanted_rv not in (None, "") and str(wanted_rv) != str(current.rv):
            raise Conflict.stale(rtype.plural, name, rtype.group)
        self._check_kind(rtype, new)
        return self._replace(rtype, current, new, subresource=subresource, dry_run=dry_run)

    def patch(
        self,
        rtype: ResourceType,
        namespace: str | None,
        name: str,
        content_type: str,
        patch: Any,
        *,
        subresource: str | None = None,
        dry_run: bool = False,
    ) -> StoredObject:
        check_patch_type(content_type, builtin=rtype.builtin)  # 415 before 404, as a real server answers
        current = self.get(rtype, namespace, name)
        new = apply_patch(content_type, current.obj, patch, builtin=rtype.builtin)
        meta = new.get("metadata") or {}
        wanted_rv = meta.get("resourceVersion")
        if wanted_rv not in (None, "") and str(wanted_rv) != str(current.rv):
            raise Conflict.stale(rtype.plural, name, rtype.group)
        return self._replace(rtype, current, new, subresource=subresource, dry_run=dry_run)

    def _replace(
        self,
        rtype: ResourceType,
        current: StoredObject,
        new: dict[str, Any],
        *,
        subresource: str | None,
        dry_run: bool,
    ) -> StoredObject:
        old = current.obj
        if subresource == "status":
            if not rtype.status_subresource:
                raise NotFound(f"the server could not find the requested resource ({rtype.plural}/status)")
            # A status write changes status only.
            new = {**old, "status": new.get("status")} if new.get("status") is not None else {
                k: v for k, v in old.items() if k != "status"}
        elif subresource is not None:
            raise NotFound(f"the server could not find the requested resource ({rtype.plural}/{subresource})")
        elif rtype.status_subresource:
            # A write to the main resource leaves status as it was.
            new = {k: v for k, v in new.items() if k != "status"}
            if "status" in old:
                new["status"] = old["status"]
        if subresource is None:
            for mutate in list(self._mutations):
                mutate("update", rtype, new)
        new.setdefault("apiVersion", old.get("apiVersion"))
        new.setdefault("kind", old.get("kind"))
        meta = dict(new.get("metadata") or {})
        old_meta = old["metadata"]
        if subresource == "status":
            meta = dict(old_meta)
        for keep in ("name", "namespace", *_SERVER_FIELDS):
            if keep in old_meta:
                meta[keep] = old_meta[keep]
            else:
                meta.pop(keep, None)
        new["metadata"] = meta
        if old_meta.get("deletionTimestamp"):
            added = set(meta.get("finalizers") or ()) - set(old_meta.get("finalizers") or ())
            if added:
                raise Invalid.of(rtype.kind, old_meta["name"], "metadata.finalizers",
                                 "Forbidden: no new finalizers can be added if the object is being deleted",
                                 rtype.group)
        if rtype.tracks_generation and _spec_of(new) != _spec_of(old):
            meta["generation"] = int(old_meta.get("generation", 1)) + 1
        if not meta.get("finalizers"):
            meta.pop("finalizers", None)
        # Equal apart from resourceVersion: a no-op write keeps the version and sends no event.
        if new == old:
            return current
        if subresource is None:
            for check in list(self._admission):
                check("update", rtype, new)
        if dry_run:
            return StoredObject(new, current.rv)
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            return self._remove(rtype, new, current)
        return self._commit(rtype, new, MODIFIED, old)

    def delete(
        self,
        rtype: ResourceType,
        namespace: str | None,
        name: str,
        *,
        preconditions: dict[str, Any] | None = None,
        dry_run: bool = False,
    ) -> tuple[StoredObject, bool]:
        """Delete, or mark for deletion while finalizers remain; returns (object, gone now)."""
        current = self.get(rtype, namespace, name)
        meta = current.obj["metadata"]
        if not meta.get("deletionTimestamp"):
            for check in list(self._admission):
                check("delete", rtype, current.obj)
        pre = preconditions or {}
        if pre.get("uid") and pre["uid"] != meta.get("uid"):
            raise Conflict(
                f"Precondition failed: UID in precondition: {pre['uid']}, UID in object meta: {meta.get('uid')}"
            )
        if pre.get("resourceVersion") and str(pre["resourceVersion"]) != str(current.rv):
            raise Conflict(
                f"Precondition failed: ResourceVersion in precondition: {pre['resourceVersion']}, "
                f"ResourceVersion in object meta: {current.rv}"
            )
        if dry_run:
            return current, not meta.get("finalizers")
        if rtype.key == "namespaces":
            return self._delete_namespace(current), False
        if meta.get("finalizers") or (rtype.key == "customresourcedefinitions.apiextensions.k8s.io"
                                      and self._crd_has_objects(current.obj)):
            if meta.get("deletionTimestamp"):
                return current, False
            marked = {**current.obj, "metadata": {**meta, "deletionTimestamp": _now_rfc3339(self._clock),
                                                  "deletionGracePeriodSeconds": 0}}
            stored = self._commit(rtype, marked, MODIFIED, current.obj)
            if rtype.key == "customresourcedefinitions.apiextensions.k8s.io":
                self._drop_crd_objects(current.obj)
            return stored, False
        removed = self._remove(rtype, current.obj, current)
        if rtype.key == "customresourcedefinitions.apiextensions.k8s.io":
            self._unregister_crd(current.obj)
        return removed, True

    def delete_collection(
        self,
        rtype: ResourceType,
        namespace: str | None,
        *,
        label_selector: LabelSelector | str | None = None,
        field_selector: FieldSelector | str | None = None,
    ) -> builtins.list[StoredObject]:
        victims = self.list(rtype, namespace, label_selector=label_selector, field_selector=field_selector).items
        return [self.delete(rtype, v.namespace, v.name)[0] for v in victims]

    # -- watches -------------------------------------------------------------------------

    def watch(
        self,
        rtype: ResourceType,
        namespace: str | None = None,
        *,
        label_selector: LabelSelector | str | None = None,
        field_selector: FieldSelector | str | None = None,
        resource_version: str | int | None = None,
    ) -> Watch:
        """Open a watch.

        ``resource_version`` None, "" or "0": the current objects arrive as ADDED, then changes.
        A number: only changes after it; older than the kept history raises :class:`Expired` (410).
        """
        state = self._state(rtype)
        w = Watch(rtype, namespace=namespace, labels=_labels(label_selector), fields=_fields(field_selector, rtype),
                  max_backlog=self._watch_backlog)
        rv_text = "" if resource_version is None else str(resource_version)
        if rv_text in ("", "0"):
            for stored in self.list(rtype, namespace, label_selector=w.labels, field_selector=w.fields).items:
                w.offer(WatchEvent(ADDED, stored, None))
        else:
            try:
                since = int(rv_text)
            except ValueError:
                raise BadRequest(f"invalid resource version: {rv_text}") from None
            if since < state.expired_rv:
                raise Expired(f"too old resource version: {since} ({state.expired_rv + 1})")
            replay = []
            for rv, event in reversed(state.history):
                if rv <= since:
                    break
                replay.append(event)
            for event in reversed(replay):
                w.offer(event)
        state.watches.add(w)
        w._on_close = lambda closed: state.watches.discard(closed)
        return w

    def open_watches(self, rtype: ResourceType | None = None) -> builtins.list[Watch]:
        states = [self._state(rtype)] if rtype else list(self._types.values())
        return [w for s in states for w in s.watches]

    def compact(self, rtype: ResourceType | None = None) -> None:
        """Forget all watch history so far: a watch from any older resourceVersion gets 410."""
        for state in [self._state(rtype)] if rtype else list(self._types.values()):
            state.history.clear()
            state.expired_rv = self._rv

    # -- internals -----------------------------------------------------------------------

    def _next_rv(self) -> int:
        self._rv += 1
        return self._rv

    def _commit(
        self, rtype: ResourceType, obj: dict[str, Any], kind: str, previous: dict[str, Any] | None
    ) -> StoredObject:
        rv = self._next_rv()
        obj["metadata"]["resourceVersion"] = str(rv)
        stored = StoredObject(obj, rv)
        state = self._state(rtype)
        key = _ObjectKey(obj["metadata"].get("namespace") or "", obj["metadata"]["name"])
        if key not in state.objects:
            bisect.insort(state.order, key)
        state.objects[key] = stored
        self._publish(state, WatchEvent(kind, stored, previous))
        return stored

    def _remove(self, rtype: ResourceType, obj: dict[str, Any], current: StoredObject) -> StoredObject:
        state = self._state(rtype)
        meta = obj["metadata"]
        key = _ObjectKey(meta.get("namespace") or "", meta["name"])
        if state.objects.pop(key, None) is not None:
            index = bisect.bisect_left(state.order, key)
            if index < len(state.order) and state.order[index] == key:
                del state.order[index]
        rv = self._next_rv()
        final = {**obj, "metadata": {**meta, "resourceVersion": str(rv)}}
        stored = StoredObject(final, rv)
        self._publish(state, WatchEvent(DELETED, stored, current.obj))
        ns = meta.get("namespace")
        if ns:
            self._maybe_finish_namespace(ns)
        return stored

    def _publish(self, state: _TypeState, event: WatchEvent) -> None:
        # Each kept event holds an old version of its object alive: a type's history is as long as a few
        # changes of each of its objects (at least _MIN_HISTORY), never above history_size. A fixed 10,000
        # per type made a 20-cluster simulator grow for hundreds of cycles (docs/performance.md, issue 15).
        limit = min(self._history_size, max(_MIN_HISTORY, _HISTORY_PER_OBJECT * len(state.objects)))
        while len(state.history) >= limit:
            state.expired_rv = state.history.popleft()[0]
        state.history.append((event.current.rv, event))
        for w in list(state.watches):
            w.offer(event)
        for listener in list(self._listeners):
            listener(state.rtype, event)

    def _check_kind(self, rtype: ResourceType, obj: dict[str, Any]) -> None:
        kind = obj.setdefault("kind", rtype.kind)
        api_version = obj.setdefault("apiVersion", rtype.api_version)
        if kind != rtype.kind or api_version.split("/")[0] not in (rtype.group or "v1", rtype.api_version):
            raise BadRequest(
                f"the API version in the data ({api_version}) does not match the expected API version "
                f"({rtype.api_version})" if kind == rtype.kind else
                f"the kind in the data ({kind}) does not match the expected kind ({rtype.kind})"
            )

    def _check_namespace(self, rtype: ResourceType, namespace: str | None, meta: dict[str, Any]) -> str | None:
        if not rtype.namespaced:
            meta.pop("namespace", None)
            return None
        body_ns = meta.get("namespace")
        if namespace is None:
            namespace = body_ns
        if not namespace:
            raise BadRequest("the namespace of the object is required")
        if body_ns not in (None, "", namespace):
            raise BadRequest("the namespace of the provided object does not match the namespace sent on the request")
        meta["namespace"] = namespace
        return namespace

    def _check_namespace_open(self, namespace: str) -> None:
        ns = self.find(self.type_of("namespaces"), None, namespace)
        if ns is None:
            raise NotFound.of("namespaces", namespace)
        if ns.obj["metadata"].get("deletionTimestamp"):
            raise Forbidden(
                f"unable to create new content in namespace {namespace} because it is being terminated"
            )

    def _validate_name(self, rtype: ResourceType, name: str) -> None:
        pattern, limit = (_LABEL, 63) if rtype.key == "namespaces" else (_SUBDOMAIN, 253)
        if len(name) > limit or not pattern.match(name):
            raise Invalid.of(rtype.kind, name, "metadata.name",
                             f"Invalid value: \"{name}\": a lowercase RFC 1123 name must consist of lower case "
                             "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric "
                             "character", rtype.group)

    def _delete_namespace(self, current: StoredObject) -> StoredObject:
        ns_type = self.type_of("namespaces")
        name = current.name
        stored = current
        if not current.obj["metadata"].get("deletionTimestamp"):
            obj = current.to_dict()
            obj["metadata"]["deletionTimestamp"] = _now_rfc3339(self._clock)
            obj["metadata"]["deletionGracePeriodSeconds"] = 0
            obj.setdefault("status", {})["phase"] = "Terminating"
            stored = self._commit(ns_type, obj, MODIFIED, current.obj)
        for state in list(self._types.values()):
            if not state.rtype.namespaced:
                continue
            for key, obj_stored in list(state.objects.items()):
                if key.namespace == name and not obj_stored.obj["metadata"].get("deletionTimestamp"):
                    self.delete(state.rtype, name, key.name)
        self._maybe_finish_namespace(name)
        return stored

    def _maybe_finish_namespace(self, namespace: str) -> None:
        ns_type = self.type_of("namespaces")
        ns = self.find(ns_type, None, namespace)
        if ns is None or not ns.obj["metadata"].get("deletionTimestamp"):
            return
        for state in self._types.values():
            if state.rtype.namespaced and any(k.namespace == namespace for k in state.objects):
                return
        self._remove(ns_type, ns.obj, ns)

    def _crd_has_objects(self, crd: dict[str, Any]) -> bool:
        return any(self._types.get(t.key) and self._types[t.key].objects for t in self._types_from_crd(crd))

    def _drop_crd_objects(self, crd: dict[str, Any]) -> None:
        for rtype in self._types_from_crd(crd):
            state = self._types.get(rtype.key)
            if state:
                for stored in list(state.objects.values()):
                    self._remove(state.rtype, stored.obj, stored)
        name = crd["metadata"]["name"]
        crd_type = self._crd_type()
        current = self.find(crd_type, None, name)
        if current is not None and not current.obj["metadata"].get("finalizers"):
            self._remove(crd_type, current.obj, current)
            self._unregister_crd(crd)

    def _unregister_crd(self, crd: dict[str, Any]) -> None:
        for rtype in self._types_from_crd(crd):
            served = self.registry.lookup(rtype.group, rtype.version, rtype.plural)
            if served is None:
                continue
            self.registry.remove(served)
            state = self._types.pop(served.key, None)
            for w in list(state.watches if state else ()):
                w.close("resource type removed")


def _spec_of(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "kind", "apiVersion")}


def _apply_defaults(rtype: ResourceType, obj: dict[str, Any]) -> None:
    key = rtype.key
    if key == "namespaces":
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
        obj["status"] = {"phase": "Active"}
    elif key in ("deployments.apps", "statefulsets.apps"):
        obj.setdefault("spec", {}).setdefault("replicas", 1)
    elif key == "pods":
        obj["status"] = {"phase": "Pending"}


def _default_service(obj: dict[str, Any], ips: Iterator[ipaddress.IPv4Address]) -> None:
    """What the Service REST strategy fills in: type, a clusterIP from the service network, ports."""
    spec = obj.setdefault("spec", {})
    kind = spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if kind != "ExternalName":
        if not spec.get("clusterIP"):
            spec["clusterIP"] = str(next(ips))
        spec["clusterIPs"] = [spec["clusterIP"]]
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
    for port in spec.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
    obj["status"] = {"loadBalancer": {}}


def _labels(selector: LabelSelector | str | None) -> LabelSelector:
    return selector if isinstance(selector, LabelSelector) else LabelSelector.parse(selector)


def _fields(selector: FieldSelector | str | None, rtype: ResourceType) -> FieldSelector:
    if isinstance(selector, FieldSelector):
        return selector
    return FieldSelector.parse(selector, rtype.field_selectors)


def _encode_continue(rv: int, last: tuple[str, str]) -> str:
    token = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": f"{last[0]}/{last[1]}"})
    return base64.urlsafe_b64encode(token.encode()).decode()


def _decode_continue(token: str) -> tuple[int, tuple[str, str]]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        namespace, _, name = data["start"].partition("/")
        return int(data["rv"]), (namespace, name)
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise BadRequest("continue key is not valid: could not decode the continue token") from None
