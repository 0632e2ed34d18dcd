"""HTTP to one hub through its own kubernetes_asyncio ApiClient.

Every request gets a per-attempt timeout, retries with jittered exponential backoff on 5xx, 429
(honouring Retry-After) and no-answer, and leaves as a plain dict or an error of the hub tree.
Watch streams are opened here too, one attempt each: the watch loop owns their retries.

Requests go out on the ApiClient's own session (its connector, TLS, proxy and credentials, refreshed
as the library refreshes them) but skip its model layer: plain dicts need none of its serialisation
walk, and orjson decodes in a fraction of json's time (docs/performance.md, issue 15).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any, NamedTuple
from urllib.parse import urlencode

import aiohttp
import orjson
from kubernetes_asyncio import client

from .errors import HubApiError, HubUnreachableError, error_for_status, status_from_body
from .resources import Resource
from .retrying import RequestCounters, backoff_delay, is_retryable
from .settings import ClientSettings

__all__ = ["Answer", "Query", "Transport", "send_time_tracing"]

Query = Sequence[tuple[str, str]]
"""Query parameters as (name, value) pairs, already strings."""


class _Reply(NamedTuple):
    status: int
    body: bytes
    headers: Any
    reason: str


class Answer(NamedTuple):
    """A decoded answer and the event-loop times its attempt was sent and answered."""

    body: Any
    sent: float
    """When the request's headers went out on a connection, after any wait for a connection or a TLS
    handshake (with send_time_tracing on the session; without it, when the attempt began)."""
    answered: float


_HEADERS_SENT: ContextVar[list[float] | None] = ContextVar("asyncswitch_headers_sent", default=None)
"""Where the tracing hook of the request being made in this task puts its headers-sent time."""


def send_time_tracing() -> aiohttp.TraceConfig:
    """An aiohttp trace config that lets Transport time a request from the moment it was sent,
    rather than from the call, which may first wait for a connection and its TLS handshake."""

    async def headers_sent(session: aiohttp.ClientSession, context: Any,
                           params: aiohttp.TraceRequestHeadersSentParams) -> None:
        times = _HEADERS_SENT.get()
        if times is not None:
            times.append(asyncio.get_running_loop().time())

    tracing = aiohttp.TraceConfig()
    tracing.on_request_headers_sent.append(headers_sent)
    return tracing


_AUTH = ["BearerToken"]
_NO_ANSWER = (aiohttp.ClientError, TimeoutError, OSError)


class Transport:
    """Requests to one hub: timeouts, retries, error mapping and counters."""

    def __init__(self, api_client: client.ApiClient, *, hub: str, settings: ClientSettings,
                 rng: random.Random | None = None) -> None:
        self.api_client = api_client
        self.hub = hub
        self.settings = settings
        self.counters = RequestCounters()
        self._rng = rng or random.Random()

    async def request(
        self,
        verb: str,
        method: str,
        path: str,
        *,
        resource: Resource,
        name: str | None = None,
        namespace: str | None = None,
        query: Query = (),
        body: Any = None,
        content_type: str = "application/json",
    ) -> Answer:
        """Send one API request, retried per the settings: the decoded JSON answer, with when the
        answered attempt was sent and when its answer arrived."""
        attempt = 0
        clock = asyncio.get_running_loop().time
        while True:
            attempt += 1
            self.counters.count_attempt(verb, retry=attempt > 1)
            started, sent_at = clock(), list[float]()
            token = _HEADERS_SENT.set(sent_at)
            cause: BaseException | None = None
            try:
                reply = await self._send(method, path, query=query, body=body, content_type=content_type)
                answered = clock()
                if 200 <= reply.status < 300:
                    return Answer(_decoded(reply.body), sent_at[-1] if sent_at else started, answered)
                error = error_for_status(
                    reply.status, status_from_body(reply.body), hub=self.hub, resource=resource.key, verb=verb,
                    name=name, namespace=namespace, headers=reply.headers, http_reason=reply.reason)
            except aiohttp.ClientSSLError as exc:  # a certificate problem does not heal by retrying
                self.counters.failures += 1
                raise self._unreachable(exc, verb=verb, resource=resource, name=name, namespace=namespace) from exc
            except _NO_ANSWER as exc:
                error = self._unreachable(exc, verb=verb, resource=resource, name=name, namespace=namespace)
                cause = exc
            finally:
                _HEADERS_SENT.reset(token)
            if attempt >= self.settings.attempts or not is_retryable(error):
                self.counters.failures += 1
                raise error from cause
            await asyncio.sleep(backoff_delay(attempt, settings=self.settings, rng=self._rng,
                                              retry_after=error.retry_after))

    async def _send(self, method: str, path: str, *, query: Query, body: Any, content_type: str) -> _Reply:
        s = self.settings
        timeout = aiohttp.ClientTimeout(total=s.request_timeout, connect=s.connect_timeout,
                                        sock_connect=s.connect_timeout)
        api = self.api_client
        rest = api.rest_client
        headers = {**api.default_headers, "Accept": "application/json", "Content-Type": content_type}
        params = list(query)
        await api.update_params_for_auth(headers, params, _AUTH)  # the token, refreshed if it expires
        url = (api.configuration.host or "") + path + (f"?{urlencode(params)}" if params else "")
        extra: dict[str, Any] = {}
        if rest.proxy:
            extra.update(proxy=rest.proxy, proxy_headers=rest.proxy_headers)
        if rest.server_hostname:
            extra["server_hostname"] = rest.server_hostname
        session: aiohttp.ClientSession = rest.pool_manager
        async with session.request(method, url, headers=headers, timeout=timeout,
                                   data=None if body is None else orjson.dumps(body), **extra) as response:
            raw = await response.read()
            return _Reply(response.status, raw, response.headers, response.reason or "")

    @asynccontextmanager
    async def stream(self, path: str, *, resource: Resource, namespace: str | None, query: Query,
                     retry: bool = False) -> AsyncIterator[aiohttp.ClientResponse]:
        """Open one streaming GET (a watch); the response is closed on exit. One attempt, no retry."""
        self.counters.count_attempt("watch", retry=retry)
        s = self.settings
        timeout = aiohttp.ClientTimeout(total=None, connect=s.connect_timeout, sock_connect=s.connect_timeout)
        try:
            response: aiohttp.ClientResponse = await self.api_client.call_api(
                path, "GET", query_params=list(query), header_params={"Accept": "application/json"},
                auth_settings=_AUTH, _return_http_data_only=True, _preload_content=False,
                _request_timeout=timeout,
            )
        except _NO_ANSWER as exc:
            self.counters.failures += 1
            raise self._unreachable(exc, verb="watch", resource=resource, namespace=namespace,
                                    limit=f"{s.connect_timeout} s (connect_timeout)") from exc
        try:
            if response.status != 200:
                self.counters.failures += 1
                raw = await response.read()
                raise error_for_status(response.status, status_from_body(raw), hub=self.hub, resource=resource.key,
                                       verb="watch", namespace=namespace, headers=response.headers,
                                       http_reason=response.reason or "")
            yield response
        finally:
            response.close()

    def _unreachable(self, exc: BaseException, *, verb: str, resource: Resource, name: str | None = None,
                     namespace: str | None = None, limit: str | None = None) -> HubApiError:
        if isinstance(exc, TimeoutError) and not str(exc):
            limit = limit or f"{self.settings.request_timeout} s (request_timeout)"
            message = f"no answer within {limit}"
        else:
            message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return HubUnreachableError(message, hub=self.hub, resource=resource.key, status=None,
                                   reason="Unreachable", verb=verb, name=name, namespace=namespace)


def _decoded(raw: bytes) -> Any:
    """A 2xx body: its JSON, or its text if it is not JSON (as kubernetes_asyncio returned it)."""
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw.decode("utf-8", "replace")
