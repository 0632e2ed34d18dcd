"""One hub: its own API client from one kubeconfig context, and the verbs the pipeline needs.

Everything goes in and comes out as plain dicts, through one code path for every type.
"""

from __future__ import annotations

import base64
import builtins
import os
import random
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any

from kubernetes_asyncio import client

from .errors import ConflictError, GoneError, NotFoundError
from .events import Gap
from .kubeconfig import api_client_for
from .resources import SELF_SUBJECT_ACCESS_REVIEWS, Resource
from .retrying import RequestCounters
from .settings import ClientSettings
from .transport import Answer, Transport

__all__ = ["GapListener", "Hub", "ListResult", "Selector", "Write", "WriteListener", "selector_text"]

Selector = str | Mapping[str, str]
"""A label or field selector: the API's text form (``a=b,c!=d``) or a mapping of equalities."""

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"


@dataclass(frozen=True, slots=True)
class ListResult:
    """The objects of a (paginated) list and the resourceVersion to watch from."""

    items: list[dict[str, Any]] = field(default_factory=list)
    resource_version: str = ""


@dataclass(frozen=True, slots=True)
class Write:
    """A change the hub confirmed: a create or patch, the resourceVersion it made, and when the
    request that made it was sent and answered (event-loop clock, seconds)."""

    hub: str
    verb: str
    resource: Resource
    namespace: str | None
    name: str
    resource_version: str
    sent: float
    answered: float


WriteListener = Callable[[Write], None]

GapListener = Callable[[Resource, Gap, Any], None]
"""Called with the resource, the gap and the WatchDriver of any watch on the hub that closes a gap."""


def selector_text(selector: Selector | None) -> str | None:
    """A selector in the API's text form; a mapping becomes ``k=v`` pairs joined by commas."""
    if selector is None or isinstance(selector, str):
        return selector or None
    return ",".join(f"{k}={v}" for k, v in selector.items()) or None


class Hub:
    """The client of one hub (one kubeconfig context). Make it with :meth:`connect`."""

    def __init__(self, api_client: client.ApiClient, *, name: str, context: str | None = None,
                 settings: ClientSettings | None = None, rng: random.Random | None = None) -> None:
        self.name = name
        self.context = context or name
        self.settings = settings or ClientSettings()
        self.transport = Transport(api_client, hub=name, settings=self.settings, rng=rng)
        self._write_listeners: list[WriteListener] = []
        self._gap_listeners: list[GapListener] = []

    @classmethod
    @asynccontextmanager
    async def connect(cls, kubeconfig: str | os.PathLike[str], context: str, *,
                      settings: ClientSettings | None = None, name: str | None = None) -> AsyncIterator[Hub]:
        """``async with Hub.connect(path, "hub-a") as hub``: a client that is closed on exit.

        Raises ConfigError for an unreadable kubeconfig or a context it does not hold.
        """
        async with api_client_for(kubeconfig, context) as api_client:
            yield cls(api_client, name=name or context, context=context, settings=settings)

    @property
    def counters(self) -> RequestCounters:
        """Attempts, retries and failures of this hub's requests so far."""
        return self.transport.counters

    def __repr__(self) -> str:
        return f"Hub({self.name!r}, context={self.context!r})"

    @contextmanager
    def writes_observed_by(self, listener: WriteListener) -> Iterator[None]:
        """Call ``listener`` with every create and patch this hub confirms while the block runs
        (how the engine measures how soon its watches see its own changes)."""
        self._write_listeners.append(listener)
        try:
            yield
        finally:
            self._write_listeners.remove(listener)

    @contextmanager
    def gaps_observed_by(self, listener: GapListener) -> Iterator[None]:
        """Call ``listener`` with every gap any watch on this hub records while the block runs (the
        pipeline's own wait-watches included)."""
        self._gap_listeners.append(listener)
        try:
            yield
        finally:
            self._gap_listeners.remove(listener)

    def observed_gap(self, resource: Resource, gap: Gap, driver: Any) -> None:
        for listener in tuple(self._gap_listeners):
            listener(resource, gap, driver)

    def _wrote(self, verb: str, resource: Resource, namespace: str | None, answer: Answer) -> None:
        if not self._write_listeners or not isinstance(answer.body, dict):
            return
        meta = answer.body.get("metadata") or {}
        write = Write(self.name, verb, resource, namespace, str(meta.get("name") or ""),
                      str(meta.get("resourceVersion") or ""), answer.sent, answer.answered)
        for listener in tuple(self._write_listeners):
            listener(write)

    # -- reads -------------------------------------------------------------------------------

    async def get(self, resource: Resource, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        """The object, or None if it (or its type) does not exist."""
        _need_scope(resource, namespace)
        try:
            found: dict[str, Any] = (await self.transport.request(
                "get", "GET", resource.path(namespace=namespace, name=name), resource=resource, name=name,
                namespace=namespace)).body
        except NotFoundError:
            return None
        return found

    async def list(self, resource: Resource, namespace: str | None = None, *,
                   label_selector: Selector | None = None, field_selector: Selector | None = None,
                   limit: int | None = None) -> ListResult:
        """Every matching object (all namespaces when ``namespace`` is None), page by page.

        ``limit`` caps the result at one page of that size ("the first BackupSchedule").
        A type the hub does not serve lists as empty.
        """
        try:
            return await self.list_strict(resource, namespace=namespace, label_selector=label_selector,
                                       field_selector=field_selector, limit=limit)
        except NotFoundError:
            return ListResult()

    async def list_strict(self, resource: Resource, *, namespace: str | None = None,
                       label_selector: Selector | None = None, field_selector: Selector | None = None,
                       limit: int | None = None) -> ListResult:
        """As :meth:`list`, but a type the hub does not serve raises NotFoundError (watches need that)."""
        base: builtins.list[tuple[str, str]] = []
        if (labels := selector_text(label_selector)) is not None:
            base.append(("labelSelector", labels))
        if (fields_ := selector_text(field_selector)) is not None:
            base.append(("fieldSelector", fields_))
        page_size = limit or self.settings.list_page_size
        path = resource.path(namespace=namespace)
        restarts = 0
        while True:
            items: builtins.list[dict[str, Any]] = []
            resource_version = ""
            token = ""
            try:
                while True:
                    query = [*base, ("limit", str(page_size))] + ([("continue", token)] if token else [])
                    page = (await self.transport.request("list", "GET", path, resource=resource,
                                                         namespace=namespace, query=query)).body
                    meta = page.get("metadata") or {}
                    items.extend(page.get("items") or ())
                    resource_version = resource_version or str(meta.get("resourceVersion") or "")
                    token = str(meta.get("continue") or "")
                    if not token or limit:
                        return ListResult(items, resource_version)
            except GoneError:
                # The continue token outlived the hub's history: a consistent list must start over.
                restarts += 1
                if restarts >= self.settings.attempts:
                    raise

    # -- writes ------------------------------------------------------------------------------

    async def create(self, resource: Resource, body: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
        """Create the object and return it as stored; idempotent.

        If it already exists and every field of the body's spec, data, labels and annotations
        matches, the existing object is returned; otherwise ConflictError names the first
        field that differs (never its value).
        """
        meta = body.get("metadata") or {}
        if namespace is None and resource.namespaced:
            namespace = meta.get("namespace")
        _need_scope(resource, namespace)
        name = meta.get("name")
        try:
            answer = await self.transport.request(
                "create", "POST", resource.path(namespace=namespace), resource=resource, name=name,
                namespace=namespace, body=body)
            self._wrote("create", resource, namespace, answer)
            created: dict[str, Any] = answer.body
            return created
        except ConflictError as exc:
            if not name:
                raise
            existing = await self.get(resource, name, namespace)
            if existing is None:
                raise  # it went away in between; the caller decides whether to try again
            problem = _conflict_with(body, existing)
            if problem is None:
                return existing
            raise ConflictError(f"already exists {problem}", hub=self.name, resource=resource.key,
                                status=409, reason="AlreadyExists", verb="create", name=name,
                                namespace=namespace) from exc

    async def patch(self, resource: Resource, name: str, patch: dict[str, Any] | builtins.list[Any],
                    namespace: str | None = None, *, subresource: str | None = None) -> dict[str, Any]:
        """Patch and return the object: a dict is a JSON merge patch (null deletes), a list a JSON patch.

        A missing object raises NotFoundError.
        """
        _need_scope(resource, namespace)
        content_type = JSON_PATCH if isinstance(patch, builtins.list) else MERGE_PATCH
        answer = await self.transport.request(
            "patch", "PATCH", resource.path(namespace=namespace, name=name, subresource=subresource),
            resource=resource, name=name, namespace=namespace, body=patch, content_type=content_type)
        self._wrote("patch", resource, namespace, answer)
        patched: dict[str, Any] = answer.body
        return patched

    async def delete(self, resource: Resource, name: str, namespace: str | None = None, *,
                     preconditions: Mapping[str, str] | None = None) -> bool:
        """Delete (or mark for deletion while finalizers remain); False if it was already gone.

        ``preconditions`` (``uid``, ``resourceVersion``) that no longer hold raise ConflictError.
        """
        _need_scope(resource, namespace)
        body = ({"apiVersion": "v1", "kind": "DeleteOptions", "preconditions": dict(preconditions)}
                if preconditions else None)
        try:
            await self.transport.request("delete", "DELETE", resource.path(namespace=namespace, name=name),
                                         resource=resource, name=name, namespace=namespace, body=body)
        except NotFoundError:
            return False
        return True

    async def scale(self, resource: Resource, name: str, replicas: int, namespace: str) -> dict[str, Any]:
        """Set spec.replicas through the ``/scale`` subresource; returns the autoscaling/v1 Scale."""
        if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
            raise ValueError(f"replicas must be a whole number >= 0, not {replicas!r}")
        return await self.patch(resource, name, {"spec": {"replicas": replicas}}, namespace, subresource="scale")

    async def create_access_review(self, *, verb: str, resource: Resource, namespace: str | None = None,
                                   name: str | None = None, subresource: str | None = None) -> dict[str, Any]:
        """Ask whether our credentials may ``verb`` the resource; ``result["status"]["allowed"]`` answers."""
        attributes = {"verb": verb, "group": resource.group, "version": resource.version,
                      "resource": resource.plural}
        attributes.update({k: v for k, v in (("namespace", namespace), ("name", name),
                                             ("subresource", subresource)) if v is not None})
        body = {"apiVersion": SELF_SUBJECT_ACCESS_REVIEWS.api_version, "kind": SELF_SUBJECT_ACCESS_REVIEWS.kind,
                "spec": {"resourceAttributes": attributes}}
        review: dict[str, Any] = (await self.transport.request(
            "create", "POST", SELF_SUBJECT_ACCESS_REVIEWS.path(), resource=SELF_SUBJECT_ACCESS_REVIEWS,
            body=body)).body
        return review


def _need_scope(resource: Resource, namespace: str | None) -> None:
    if resource.namespaced and namespace is None:
        raise ValueError(f"{resource.key} is namespaced: pass a namespace")
    if not resource.namespaced and namespace is not None:
        raise ValueError(f"{resource.key} is cluster-scoped: it takes no namespace")


def _conflict_with(body: Mapping[str, Any], existing: Mapping[str, Any]) -> str | None:
    """Why an existing object is not what ``body`` asked for (a field path), or None if it is."""
    if (existing.get("metadata") or {}).get("deletionTimestamp"):
        return "and is being deleted"
    wanted = dict(body)
    if isinstance(body.get("stringData"), Mapping):  # write-only: compare it as the data it becomes
        encoded = {k: base64.b64encode(str(v).encode()).decode() for k, v in body["stringData"].items()}
        wanted["data"] = {**(body.get("data") or {}), **encoded}
    sections: builtins.list[tuple[str, Any, Any]] = [
        (key, wanted.get(key), existing.get(key)) for key in ("spec", "data", "binaryData") if key in wanted
    ]
    body_meta, existing_meta = body.get("metadata") or {}, existing.get("metadata") or {}
    sections += [(f"metadata.{key}", body_meta.get(key), existing_meta.get(key))
                 for key in ("labels", "annotations") if key in body_meta]
    for path, want, have in sections:
        differs = _first_difference(want, have, path)
        if differs is not None:
            return f"with a different {differs}"
    return None


def _first_difference(want: Any, have: Any, path: str) -> str | None:
    """The first path where ``want`` is not contained in ``have``.

    Dicts compare as subsets (the server adds defaults); lists must have the same length and
    compare item by item the same way; anything else must be equal.
    """
    if isinstance(want, Mapping):
        if not isinstance(have, Mapping):
            return path if want else None
        for key, value in want.items():
            differs = _first_difference(value, have.get(key), f"{path}.{key}")
            if differs is not None:
                return differs
        return None
    if isinstance(want, builtins.list):
        if not isinstance(have, builtins.list) or len(have) != len(want):
            return path
        for i, (w, h) in enumerate(zip(want, have, strict=True)):
            differs = _first_difference(w, h, f"{path}[{i}]")
            if differs is not None:
                return differs
        return None
    return None if want == have else path
