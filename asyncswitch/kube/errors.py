"""The hub branch of the exception tree: API errors built from Kubernetes Status bodies.

    HubApiError              a hub answered a request with an error (hub, resource, status, reason)
    ├── NotFoundError        404
    ├── ConflictError        409: AlreadyExists or a stale resourceVersion / failed precondition
    ├── GoneError            410: a resourceVersion or continue token too old (relist)
    ├── TooManyRequestsError 429 (retried, honouring Retry-After)
    ├── ServerError          5xx (retried)
    └── HubUnreachableError  no answer at all: connection refused or reset, TLS failure, timeout
    WaitTimeout              a cache's predicate did not hold within its deadline

Messages carry the hub, verb, resource and the server's Status message; never a token or a
request body.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..errors import AsyncswitchError

__all__ = [
    "ConflictError",
    "GoneError",
    "HubApiError",
    "HubUnreachableError",
    "NotFoundError",
    "ServerError",
    "TooManyRequestsError",
    "WaitTimeout",
    "error_for_status",
    "status_from_body",
]


class HubApiError(AsyncswitchError):
    """A request to a hub failed; ``status`` is the HTTP code (None when no answer came back)."""

    def __init__(
        self,
        message: str,
        *,
        hub: str,
        resource: str,
        status: int | None,
        reason: str = "",
        verb: str = "",
        name: str | None = None,
        namespace: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.hub = hub
        self.resource = resource
        self.status = status
        self.reason = reason
        self.verb = verb
        self.name = name
        self.namespace = namespace
        self.message = message
        self.retry_after = retry_after
        super().__init__(self._render())

    def _render(self) -> str:
        target = self.resource
        if self.name:
            target += f" {self.namespace}/{self.name}" if self.namespace else f" {self.name}"
        elif self.namespace:
            target += f" in {self.namespace}"
        code = f"{self.status} {self.reason}".strip() if self.status is not None else self.reason or "unreachable"
        verb = f"{self.verb} " if self.verb else ""
        return f"{self.hub}: {verb}{target}: {code}: {self.message}"


class NotFoundError(HubApiError):
    """404: the object (or its type) does not exist on the hub."""


class ConflictError(HubApiError):
    """409: the object exists with other content, or a resourceVersion / precondition is stale."""


class GoneError(HubApiError):
    """410: the resourceVersion or continue token is older than the hub's history: list again."""


class TooManyRequestsError(HubApiError):
    """429: the hub throttles us; ``retry_after`` says for how long (seconds) when it said so."""


class ServerError(HubApiError):
    """5xx: the hub failed to serve the request."""


class HubUnreachableError(HubApiError):
    """No HTTP answer: connection refused or reset, TLS failure, or the request timed out."""


class WaitTimeout(AsyncswitchError):
    """A wait on a cache ended at its deadline; the message says what was awaited and what was seen."""

    def __init__(self, message: str, *, description: str, timeout: float, summary: str) -> None:
        super().__init__(message)
        self.description = description
        self.timeout = timeout
        self.summary = summary


_BY_STATUS: dict[int, type[HubApiError]] = {
    404: NotFoundError,
    409: ConflictError,
    410: GoneError,
    429: TooManyRequestsError,
}


def status_from_body(body: Any) -> dict[str, Any]:
    """The ``kind: Status`` object in a response body (str, bytes or dict); ``{}`` if it is none."""
    if isinstance(body, bytes | bytearray):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return {}
    return body if isinstance(body, dict) and body.get("kind", "Status") == "Status" else {}


def _retry_after(status: Mapping[str, Any], headers: Mapping[str, str] | None) -> float | None:
    raw = (headers or {}).get("Retry-After")
    if raw is not None:
        try:
            return max(0.0, float(raw))
        except ValueError:
            pass  # an HTTP date: rare from an API server; fall back to the Status details
    seconds = (status.get("details") or {}).get("retryAfterSeconds")
    return float(seconds) if isinstance(seconds, int | float) and seconds >= 0 else None


def error_for_status(
    code: int,
    status: Mapping[str, Any],
    *,
    hub: str,
    resource: str,
    verb: str = "",
    name: str | None = None,
    namespace: str | None = None,
    headers: Mapping[str, str] | None = None,
    http_reason: str = "",
) -> HubApiError:
    """The error of the tree that fits an HTTP status code and the Status body that came with it."""
    cls = _BY_STATUS.get(code) or (ServerError if code >= 500 else HubApiError)
    message = str(status.get("message") or http_reason or "no message from the server")
    return cls(
        message,
        hub=hub,
        resource=resource,
        status=code,
        reason=str(status.get("reason") or http_reason),
        verb=verb,
        name=name,
        namespace=namespace,
        retry_after=_retry_after(status, headers),
    )
