"""An emulated Kubernetes API server on aiohttp: the wire protocol over one :class:`Store`.

It speaks what kubernetes_asyncio and kubectl speak: discovery, typed errors as Status
objects, list/watch with resourceVersions, the three patch formats, status and scale
subresources, bearer-token authentication, HTTPS with a CA made at start. A fault table
and a request log make it useful for testing clients that must survive a bad API server.
"""

from __future__ import annotations

import asyncio
import json
import random
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from .discovery import api_group, api_group_list, api_resource_list, api_versions, version_info
from .errors import ApiError, BadRequest, Expired, Forbidden, Invalid, MethodNotAllowed, NotFound, Unauthorized
from .faults import FaultRule, FaultTable, RequestLog, RequestRecord
from .patching import apply_patch
from .podlogs import PodLogs, parse_time, render_log
from .rbac import RequestAttributes, allows, forbidden_message, service_account_user
from .resources import ResourceType
from .store import Store, StoredObject, Watch, encode
from .tables import render_table, wants_table
from .tls import ServingCertificate

__all__ = ["ApiServer", "Principal"]

READ_VERBS = frozenset({"get", "list", "watch"})
_TRUE = ("true", "1", "True")
_REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
            409: "Conflict", 410: "Gone", 415: "UnsupportedMediaType", 422: "Invalid", 429: "TooManyRequests",
            500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout"}
"""The Status reason a real API server gives with each code (used for injected faults)."""
_STALL_POLL = 0.05
"""Seconds between checks of a stalled watch for the end of its stall."""


@dataclass(frozen=True)
class Principal:
    """Who a bearer token speaks for."""

    user: str
    writable: bool
    rbac: bool = False
    """Authorized by the Roles and bindings in the store (a ServiceAccount's token), not by ``writable``."""
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Target:
    rtype: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    raw = body if isinstance(body, bytes) else encode(body)
    return web.Response(body=raw, status=status, content_type="application/json", headers=headers)


def _error_response(err: ApiError) -> web.Response:
    return _json(err.to_status(), err.code, err.headers)


class ApiServer:
    """One emulated API server (one hub), served on a loopback port.

    Use it as an async context manager; ``url``, ``token`` and ``ca_pem`` then describe how
    to reach it, ``store`` holds its objects, ``faults`` and ``requests`` disturb and record it.
    """

    def __init__(
        self,
        name: str = "hub",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: bool = True,
        seed: int = 0,
        store: Store | None = None,
        bookmark_interval: float = 60.0,
        request_log_size: int = 20_000,
    ) -> None:
        self.name = name
        self.host = host
        self.port = port
        self.tls = tls
        self.bookmark_interval = bookmark_interval
        self.store = store or Store(seed=seed)
        self.faults = FaultTable(seed=seed)
        self.requests = RequestLog(request_log_size)
        self.logs = PodLogs()
        """Where ``pods/{name}/log`` gets each pod's lines (``logs.add(source, namespace=..., label_selector=...)``)."""
        self.token = secrets.token_urlsafe(32)
        self.read_only_token = secrets.token_urlsafe(32)
        self._principals = {
            self.token: Principal(f"system:admin:{name}", writable=True),
            self.read_only_token: Principal(f"viewer:{name}", writable=False),
        }
        self._rng = random.Random(seed)
        self._certificate = ServingCertificate.for_loopback() if tls else None
        self._runner: web.AppRunner | None = None
        self._http_watches: set[Watch] = set()

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def ca_pem(self) -> bytes | None:
        return self._certificate.ca_pem if self._certificate else None

    def add_token(self, token: str, *, user: str, writable: bool) -> None:
        self._principals[token] = Principal(user, writable)

    def issue_token(self, namespace: str, service_account: str) -> str:
        """A bearer token for an existing ServiceAccount; its requests are authorized by RBAC (``rbac.py``)."""
        rtype = self.store.registry.by_key("serviceaccounts")
        self.store.get(rtype, namespace, service_account)  # NotFound (404) for a ServiceAccount that is not there
        token = secrets.token_urlsafe(32)
        self._principals[token] = Principal(
            service_account_user(namespace, service_account), writable=False, rbac=True,
            groups=("system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"))
        return token

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        ssl_context = self._certificate.server_context() if self._certificate else None
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=ssl_context)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        for w in list(self._http_watches):
            w.close("server stopping")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> ApiServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- fault shortcuts -----------------------------------------------------------------

    def drop_watches(self, resource: str = "*") -> int:
        """Close every open HTTP watch stream of ``resource`` (or all); returns how many."""
        victims = [w for w in self._http_watches
                   if resource in ("*", w.rtype.key, w.rtype.plural)]
        for w in victims:
            w.close("dropped by fault injection")
        return len(victims)

    # -- request path --------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        record: dict[str, Any] = {"verb": request.method.lower(), "path": request.path}
        status = 500
        try:
            response = await self._serve(request, record)
            status = response.status
            return response
        except ApiError as err:
            status = err.code
            return _error_response(err)
        except asyncio.CancelledError:
            status = 499  # the client went away
            raise
        finally:
            if not record.pop("unlogged", False):
                self.requests.add(RequestRecord(
                    time=record.pop("time", time.time()), status=status,
                    duration_ms=(time.perf_counter() - started) * 1000, **record))

    def _authenticate(self, request: web.Request) -> Principal:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        principal = self._principals.get(token.strip()) if scheme.lower() == "bearer" else None
        if principal is None:
            raise Unauthorized("Unauthorized")
        return principal

    async def _serve(self, request: web.Request, record: dict[str, Any]) -> web.StreamResponse:
        record["time"] = time.time()
        path = request.path
        if path in ("/healthz", "/livez", "/readyz"):
            return web.Response(text="ok")
        principal = self._authenticate(request)
        record["user"] = principal.user
        if path.startswith("/_emulator"):
            record["unlogged"] = True
            if not principal.writable:
                raise Forbidden("the emulator's admin endpoint needs the hub's full-access token")
            return await self._admin(request, path)
        parts = [p for p in path.split("/") if p]
        if parts == ["openapi", "v2"]:
            return _openapi_v2(request)
        discovery = self._discovery(parts)
        if discovery is not None:
            if request.method != "GET":
                raise MethodNotAllowed("the server does not allow this method on the requested resource")
            return _json(discovery)
        target = self._parse(parts)
        verb = self._verb(request, target)
        record.update(verb=verb, resource=target.rtype.key, namespace=target.namespace,
                      name=target.name, subresource=target.subresource)
        if principal.rbac:
            self._authorize(principal, verb, target)
        elif verb not in READ_VERBS and not principal.writable and target.rtype.key != \
                "selfsubjectaccessreviews.authorization.k8s.io":
            scope = f'in the namespace "{target.namespace}"' if target.namespace else "at the cluster scope"
            resource = f"{target.rtype.plural}/{target.subresource}" if target.subresource else target.rtype.plural
            raise Forbidden(
                f'{target.rtype.plural} is forbidden: User "{principal.user}" cannot {verb} resource '
                f'"{resource}" in API group "{target.rtype.group}" {scope}',
                details={"kind": target.rtype.plural, "group": target.rtype.group, **(
                    {"name": target.name} if target.name else {})},
            )
        decision = self.faults.decide(verb, target.rtype.key, target.namespace, target.name)
        if decision.rule_id:
            record["fault"] = decision.rule_id
        if decision.latency:
            await asyncio.sleep(decision.latency)
        if decision.status is not None:
            headers = {"Retry-After": str(decision.retry_after)} if decision.retry_after is not None else None
            reason = _REASONS.get(decision.status, "InternalError" if decision.status >= 500 else "BadRequest")
            raise ApiError(f"injected fault {decision.rule_id}: {reason}", code=decision.status, reason=reason,
                           details={"retryAfterSeconds": decision.retry_after} if decision.retry_after else None,
                           headers=headers)
        handler = self._handlers()[verb]
        return await handler(request, target, principal)

    def _authorize(self, principal: Principal, verb: str, target: _Target) -> None:
        """RBAC for a ServiceAccount's token; everyone may review their own access, as on a real server."""
        if target.rtype.key == "selfsubjectaccessreviews.authorization.k8s.io":
            return
        attrs = RequestAttributes(verb, target.rtype.group, target.rtype.plural, target.subresource,
                                  target.namespace, target.name)
        if not self._allows(principal, attrs):
            raise Forbidden(forbidden_message(principal.user, attrs), details={
                "kind": target.rtype.plural, "group": target.rtype.group,
                **({"name": target.name} if target.name else {})})

    def _allows(self, principal: Principal, attrs: RequestAttributes) -> bool:
        objects = {rtype.plural: self.store.objects(rtype) for rtype in self.store.registry
                   if rtype.group == "rbac.authorization.k8s.io"}
        return allows(objects, principal.user, principal.groups, attrs)

    def _access_review(self, body: dict[str, Any], principal: Principal) -> dict[str, Any]:
        attrs = (body.get("spec") or {}).get("resourceAttributes") or {}
        if principal.rbac:
            request = RequestAttributes(attrs.get("verb", ""), attrs.get("group", ""), attrs.get("resource", ""),
                                        attrs.get("subresource") or None, attrs.get("namespace") or None,
                                        attrs.get("name") or None)
            allowed = self._allows(principal, request)
            return _access_review_response(body, allowed, "allowed by RBAC" if allowed else "")
        return _access_review(body, principal)

    def _token_request(self, target: _Target, body: dict[str, Any]) -> web.Response:
        """``serviceaccounts/<name>/token``: a bearer token for the ServiceAccount, authorized by RBAC."""
        assert target.name is not None
        assert target.namespace is not None
        token = self.issue_token(target.namespace, target.name)
        seconds = int((body.get("spec") or {}).get("expirationSeconds") or 3600)
        expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + seconds))
        return _json({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                      "metadata": {"name": target.name, "namespace": target.namespace},
                      "spec": {**(body.get("spec") or {}), "expirationSeconds": seconds},
                      "status": {"token": token, "expirationTimestamp": expires}}, 201)

    def _handlers(self) -> dict[str, Callable[[web.Request, _Target, Principal], Awaitable[web.StreamResponse]]]:
        return {
            "get": self._get, "list": self._list, "watch": self._watch, "create": self._create,
            "update": self._update, "patch": self._patch, "delete": self._delete,
            "deletecollection": self._delete_collection,
        }

    def _discovery(self, parts: list[str]) -> dict[str, Any] | None:
        registry = self.store.registry
        if parts == ["version"]:
            return version_info()
        if parts == ["api"]:
            return api_versions(f"{self.host}:{self.port}")
        if parts == ["apis"]:
            return api_group_list(registry)
        if len(parts) == 2 and parts[0] == "api":
            return api_resource_list(registry, "", parts[1]) or _not_found()
        if len(parts) == 2 and parts[0] == "apis":
            return api_group(registry, parts[1]) or _not_found()
        if len(parts) == 3 and parts[0] == "apis":
            return api_resource_list(registry, parts[1], parts[2]) or _not_found()
        return None

    def _parse(self, parts: list[str]) -> _Target:
        if len(parts) >= 3 and parts[0] == "api":
            group, version, rest = "", parts[1], parts[2:]
        elif len(parts) >= 4 and parts[0] == "apis":
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise NotFound("the server could not find the requested resource")
        namespace = None
        if rest[0] == "namespaces" and len(rest) >= 3 and not (len(rest) == 3 and rest[2] in ("status", "finalize")):
            namespace, rest = rest[1], rest[2:]
        if len(rest) > 3:
            raise NotFound("the server could not find the requested resource")
        rtype = self.store.registry.lookup(group, version, rest[0])
        if rtype is None or (namespace is not None and not rtype.namespaced):
            raise NotFound("the server could not find the requested resource")
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if sub is not None and not ((sub == "status" and rtype.status_subresource)
                                    or (sub == "scale" and rtype.scale_subresource)
                                    or (sub == "log" and rtype.key == "pods")
                                    or (sub == "token" and rtype.key == "serviceaccounts")):
            raise NotFound("the server could not find the requested resource")
        return _Target(rtype, namespace, name, sub)

    @staticmethod
    def _verb(request: web.Request, target: _Target) -> str:
        method = request.method
        if method == "GET":
            if target.name:
                return "get"
            return "watch" if request.query.get("watch") in _TRUE else "list"
        if method == "POST" and (not target.name or target.subresource == "token"):
            return "create"
        if method == "PUT" and target.name:
            return "update"
        if method == "PATCH" and target.name:
            return "patch"
        if method == "DELETE":
            return "delete" if target.name else "deletecollection"
        raise MethodNotAllowed(f"the server does not allow this method on the requested resource ({method})")

    async def _body(self, request: web.Request) -> Any:
        raw = await request.read()
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise BadRequest(f"the request body is not valid JSON: {exc}") from None

    # -- verbs ---------------------------------------------------------------------------

    async def _get(self, request: web.Request, target: _Target, _: Principal) -> web.StreamResponse:
        assert target.name is not None
        stored = self.store.get(target.rtype, target.namespace, target.name)
        if target.subresource == "scale":
            return _json(_scale_of(stored))
        if target.subresource == "log":
            return self._pod_log(request, stored.obj)
        if wants_table(request.headers.get("Accept", "")):
            return _json(render_table(target.rtype, [stored.obj], resource_version=stored.rv))
        return _json(stored.raw)

    def _pod_log(self, request: web.Request, pod: dict[str, Any]) -> web.Response:
        """A container's log as text/plain; ``follow`` answers the log so far and ends."""
        q = request.query
        name = pod["metadata"]["name"]
        names = [str(c.get("name")) for c in (pod.get("spec") or {}).get("containers") or []]
        container = q.get("container") or (names[0] if len(names) == 1 else "")
        if not container:
            raise BadRequest(f"a container name must be specified for pod {name}, choose one of: [{' '.join(names)}]")
        if container not in names:
            raise BadRequest(f"container {container} is not valid for pod {name}")
        tail, since_seconds, limit_bytes = (_log_option(q, key, name) for key in
                                            ("tailLines", "sinceSeconds", "limitBytes"))
        if since_seconds is not None and q.get("sinceTime"):
            raise Invalid.of("PodLogOptions", name, "sinceSeconds",
                             "Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified")
        try:
            since = parse_time(q.get("sinceTime"))
        except ValueError:
            raise BadRequest(f"invalid sinceTime: {q.get('sinceTime')}") from None
        if since_seconds is not None:
            since = datetime.now(UTC) - timedelta(seconds=since_seconds)
        if q.get("previous") in _TRUE:
            raise BadRequest(f'previous terminated container "{container}" in pod "{name}" not found')
        status = pod.get("status") or {}
        if status.get("phase") == "Pending":
            waiting = next((((cs.get("state") or {}).get("waiting") or {}).get("reason")
                            for cs in status.get("containerStatuses") or [] if cs.get("name") == container), None)
            raise BadRequest(f'container "{container}" in pod "{name}" is waiting to start: '
                             f"{waiting or 'ContainerCreating'}")
        body = render_log(self.logs.lines(pod, container), tail=tail, since=since,
                          timestamps=q.get("timestamps") in _TRUE, limit_bytes=limit_bytes)
        return web.Response(body=body, content_type="text/plain")

    async def _list(self, request: web.Request, target: _Target, _: Principal) -> web.StreamResponse:
        q = request.query
        if q.get("continue") and q.get("resourceVersion") not in (None, ""):
            raise BadRequest("specifying resource version is not allowed when using continue")
        if q.get("resourceVersionMatch") == "Exact":
            wanted = int(q.get("resourceVersion") or -1)
            if wanted != self.store.resource_version:
                raise Expired(f"too old resource version: {wanted} ({self.store.resource_version})")
        result = self.store.list(
            target.rtype, target.namespace,
            label_selector=q.get("labelSelector"), field_selector=q.get("fieldSelector"),
            limit=int(q["limit"]) if q.get("limit", "").isdigit() else None,
            continue_token=q.get("continue") or None,
        )
        if wants_table(request.headers.get("Accept", "")):
            return _json(render_table(target.rtype, [s.obj for s in result.items],
                                      resource_version=result.resource_version,
                                      continue_token=result.continue_token,
                                      include_object=q.get("includeObject") != "None"))
        meta: dict[str, Any] = {"resourceVersion": str(result.resource_version)}
        if result.continue_token:
            meta["continue"] = result.continue_token
            meta["remainingItemCount"] = result.remaining
        head = encode({"kind": target.rtype.list_kind, "apiVersion": target.rtype.api_version, "metadata": meta})
        body = head[:-1] + b',"items":[' + b",".join(s.raw for s in result.items) + b"]}"
        return _json(body)

    async def _watch(self, request: web.Request, target: _Target, _: Principal) -> web.StreamResponse:
        q = request.query
        rtype = target.rtype
        timeout = float(q["timeoutSeconds"]) if q.get("timeoutSeconds") else self._rng.uniform(1800, 3600)
        bookmarks = q.get("allowWatchBookmarks") in _TRUE
        table = wants_table(request.headers.get("Accept", ""))
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json",
                                                           "Cache-Control": "no-cache, private"})
        response.enable_chunked_encoding()
        field_selector = q.get("fieldSelector")
        if target.name:  # /resource/name?watch=true, the old form
            field_selector = ",".join(filter(None, [field_selector, f"metadata.name={target.name}"]))
        try:
            if self.faults.take_expiry(rtype.key):
                raise Expired("too old resource version: injected by the fault table")
            watch = self.store.watch(rtype, target.namespace, label_selector=q.get("labelSelector"),
                                     field_selector=field_selector, resource_version=q.get("resourceVersion"))
        except Expired as err:
            await response.prepare(request)
            await response.write(encode({"type": "ERROR", "object": err.to_status()}) + b"\n")
            await response.write_eof()
            return response
        self._http_watches.add(watch)
        deadline = asyncio.get_running_loop().time() + timeout
        try:
            await response.prepare(request)
            await self._stream(watch, response, rtype, deadline=deadline, bookmarks=bookmarks, table=table)
            if watch.closed_reason == "consumer too slow":
                await response.write(encode({"type": "ERROR", "object": Expired(
                    "watch closed: the client fell too far behind").to_status()}) + b"\n")
            await response.write_eof()
        except ConnectionResetError:
            pass  # the client went away mid-write; nothing left to tell it
        finally:
            watch.close()
            self._http_watches.discard(watch)
        return response

    async def _stream(self, watch: Watch, response: web.StreamResponse, rtype: ResourceType, *,
                      deadline: float, bookmarks: bool, table: bool) -> None:
        """Write the watch's events until it closes or the deadline passes, with bookmarks when idle.

        While the watch is stalled by the fault table nothing is written; events are held, not lost.
        """
        loop = asyncio.get_running_loop()
        next_bookmark = loop.time() + self.bookmark_interval
        held: deque[tuple[str, StoredObject]] = deque()
        while True:
            stalled = self.faults.is_stalled(rtype.key)
            item = None if stalled else held.popleft() if held else watch.next_nowait()
            if item is None:
                if watch.closed_reason is not None:
                    return
                now = loop.time()
                if now >= deadline:
                    return
                wake = min(deadline, next_bookmark) if bookmarks else deadline
                if stalled:
                    wake = min(wake, now + _STALL_POLL)
                try:
                    async with asyncio.timeout(wake - now):
                        item = await watch.next()
                except TimeoutError:
                    now = loop.time()
                    if bookmarks and now >= next_bookmark:
                        next_bookmark = now + self.bookmark_interval
                        if not self.faults.is_stalled(rtype.key):
                            await response.write(self._bookmark(rtype))
                    continue
                if item is None:
                    return
            if self.faults.is_stalled(rtype.key):
                held.append(item)
                continue
            kind, stored = item
            if table:
                payload = encode(render_table(rtype, [stored.obj], resource_version=stored.rv))
            else:
                payload = stored.raw
            await response.write(b'{"type":"' + kind.encode() + b'","object":' + payload + b"}\n")
            if bookmarks:
                next_bookmark = loop.time() + self.bookmark_interval

    def _bookmark(self, rtype: ResourceType) -> bytes:
        return encode({"type": "BOOKMARK", "object": {
            "kind": rtype.kind, "apiVersion": rtype.api_version,
            "metadata": {"resourceVersion": str(self.store.resource_version)}}}) + b"\n"

    async def _create(self, request: web.Request, target: _Target, principal: Principal) -> web.StreamResponse:
        body = await self._body(request)
        if not isinstance(body, dict):
            raise BadRequest("the body of a create must be a JSON object")
        if target.rtype.key == "selfsubjectaccessreviews.authorization.k8s.io":
            return _json(self._access_review(body, principal), 201)
        if target.subresource == "token":
            return self._token_request(target, body)
        stored = self.store.create(target.rtype, target.namespace, body, dry_run=_dry_run(request))
        return _json(stored.raw, 201)

    async def _update(self, request: web.Request, target: _Target, _: Principal) -> web.StreamResponse:
        assert target.name is not None
        body = await self._body(request)
        if not isinstance(body, dict):
            raise BadRequest("the body of an update must be a JSON object")
        if target.subresource == "scale":
            return await self._write_scale(target, lambda scale: body, request)
        stored = self.store.update(target.rtype, target.namespace, target.name, body,
                                   subresource=target.subresource, dry_run=_dry_run(request))
        return _json(stored.raw)

    async def _patch(self, request: web.Request, target: _Target, _: Principal) -> web.StreamResponse:
        assert target.name is not None
        body = await self._body(request)
        content_type = request.headers.get("Content-Type", "")
        if target.subresource == "scale":
            return await self._write_scale(
                target, lambda scale: apply_patch(content_type, scale, body, builtin=True), request)
        stored = self.store.patch(target.rtype, target.namespace, target.name, content_type, body,
                                  subresource=target.subresource, dry_run=_dry_run(request))
        return _json(stored.raw)

    async def _write_scale(
        self, target: _Target, change: Callable[[dict[str, Any]], Any], request: web.Request
    ) -> web.StreamResponse:
        assert target.name is not None
        current = self.store.get(target.rtype, target.namespace, target.name)
        scale = change(_scale_of(current))
        wanted_rv = (scale.get("metadata") or {}).get("resourceVersion")
        replicas = (scale.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int):
            raise BadRequest("spec.replicas of a Scale must be an integer")
        if replicas < 0:
            raise Invalid.of("Scale", target.name, "spec.replicas",
                             f"Invalid value: {replicas}: must be greater than or equal to 0", "autoscaling")
        patch: dict[str, Any] = {"spec": {"replicas": replicas}}
        if wanted_rv:
            patch["metadata"] = {"resourceVersion": str(wanted_rv)}
        stored = self.store.patch(target.rtype, target.namespace, target.name, "application/merge-patch+json",
                                  patch, dry_run=_dry_run(request))
        return _json(_scale_of(stored))

    async def _delete(self, request: web.Request, target: _Target, _: Principal) -> web.StreamResponse:
        assert target.name is not None
        options = await self._body(request) or {}
        if not isinstance(options, dict):
            raise BadRequest("the body of a delete must be DeleteOptions")
        stored, gone = self.store.delete(target.rtype, target.namespace, target.name,
                                         preconditions=options.get("preconditions"),
                                         dry_run=_dry_run(request, options))
        if gone and not target.rtype.delete_returns_object:
            meta = stored.obj["metadata"]
            return _json({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                          "details": {"name": meta["name"], "group": target.rtype.group,
                                      "kind": target.rtype.plural, "uid": meta.get("uid")}})
        return _json(stored.raw)

    async def _delete_collection(self, request: web.Request, target: _Target, _: Principal) -> web.StreamResponse:
        q = request.query
        options = await self._body(request) or {}
        if _dry_run(request, options if isinstance(options, dict) else {}):
            deleted = self.store.list(target.rtype, target.namespace, label_selector=q.get("labelSelector"),
                                      field_selector=q.get("fieldSelector")).items
        else:
            deleted = self.store.delete_collection(target.rtype, target.namespace,
                                                   label_selector=q.get("labelSelector"),
                                                   field_selector=q.get("fieldSelector"))
        head = encode({"kind": target.rtype.list_kind, "apiVersion": target.rtype.api_version,
                       "metadata": {"resourceVersion": str(self.store.resource_version)}})
        return _json(head[:-1] + b',"items":[' + b",".join(s.raw for s in deleted) + b"]}")

    # -- admin endpoint ------------------------------------------------------------------

    async def _admin(self, request: web.Request, path: str) -> web.StreamResponse:
        parts = [p for p in path.split("/") if p][1:]
        method = request.method
        body = await self._body(request) or {}
        if parts == ["faults"] and method == "GET":
            return _json(self.faults.describe())
        if parts == ["faults"] and method == "POST":
            try:
                rule = FaultRule.from_dict(body)
            except (TypeError, ValueError) as exc:
                raise BadRequest(f"bad fault rule: {exc}") from None
            return _json({"id": self.faults.add(rule)}, 201)
        if parts == ["faults"] and method == "DELETE":
            self.faults.clear()
            return _json({"cleared": True})
        if len(parts) == 2 and parts[0] == "faults" and method == "DELETE":
            if not self.faults.remove(parts[1]):
                raise NotFound(f'fault rule "{parts[1]}" not found')
            return _json({"removed": parts[1]})
        if len(parts) == 2 and parts[0] == "watches" and method == "POST":
            resource = str(body.get("resource", "*"))
            action = parts[1]
            if action == "drop":
                return _json({"dropped": self.drop_watches(resource)})
            if action == "expire":
                self.faults.expire_next_watches(resource, int(body.get("count", 1)))
                return _json({"expire_next": resource})
            if action == "stall":
                self.faults.stall_watches(resource)
                return _json({"stalled": resource})
            if action == "unstall":
                self.faults.unstall_watches(resource)
                return _json({"unstalled": resource})
        if parts == ["compact"] and method == "POST":
            self.store.compact()
            return _json({"compacted_at": self.store.resource_version})
        if parts == ["requests"] and method == "GET":
            q = request.query
            records = self.requests.records(verb=q.get("verb"), resource=q.get("resource"), name=q.get("name"))
            limit = int(q.get("limit", "1000")) if q.get("limit", "1000").isdigit() else 1000
            newest = records[-limit:] if limit > 0 else []
            return _json({"total": self.requests.total, "items": [r.to_dict() for r in newest]})
        raise NotFound(f"no emulator admin endpoint {method} {path}")


def _openapi_v2(request: web.Request) -> web.Response:
    """An OpenAPI v2 document with no schemas: kubectl downloads it before apply, then validates nothing."""
    if "protobuf" in request.headers.get("Accept", ""):
        # An empty body is the protobuf encoding of an empty gnostic openapi_v2.Document.
        return web.Response(body=b"", content_type="application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
    return _json({"swagger": "2.0", "info": {"title": "asyncswitch emulated hub", "version": "v1"}, "paths": {}})


def _log_option(query: Any, key: str, pod: str) -> int | None:
    """An integer PodLogOptions field: 400 if it is not a number, 422 if it is out of range."""
    raw = query.get(key)
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f'{key}: invalid value "{raw}": must be an integer') from None
    if value < (0 if key == "tailLines" else 1):
        bound = 0 if key == "tailLines" else 1
        raise Invalid.of("PodLogOptions", pod, key, f"Invalid value: {value}: must be greater than or equal to {bound}")
    return value


def _not_found() -> dict[str, Any]:
    raise NotFound("the server could not find the requested resource")


def _dry_run(request: web.Request, options: dict[str, Any] | None = None) -> bool:
    """dryRun=All in the query, or (for deletes, as kubectl sends it) in the DeleteOptions body."""
    return "All" in request.query.getall("dryRun", []) or "All" in ((options or {}).get("dryRun") or [])


def _scale_of(stored: StoredObject) -> dict[str, Any]:
    obj = stored.obj
    meta = obj["metadata"]
    selector = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                     if k in meta},
        "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
        "status": {"replicas": (obj.get("status") or {}).get("replicas", 0),
                   "selector": ",".join(f"{k}={v}" for k, v in selector.items())},
    }


def _access_review(body: dict[str, Any], principal: Principal) -> dict[str, Any]:
    """The fixed tokens' answer: the full-access token may do anything, the read-only one only read."""
    verb = ((body.get("spec") or {}).get("resourceAttributes") or {}).get("verb", "")
    allowed = principal.writable or verb in READ_VERBS
    reason = "full access token" if principal.writable else (
        "read-only token" if allowed else f'read-only token: "{verb}" is not allowed')
    return _access_review_response(body, allowed, reason)


def _access_review_response(body: dict[str, Any], allowed: bool, reason: str) -> dict[str, Any]:
    return {**body, "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "metadata": body.get("metadata") or {}, "status": {"allowed": allowed, "reason": reason}}
