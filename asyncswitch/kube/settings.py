"""How the client talks to a hub: timeouts, retries, page size and watch deadlines."""

from __future__ import annotations

from dataclasses import dataclass, fields

from ..errors import ConfigError

__all__ = ["ClientSettings"]


@dataclass(frozen=True, slots=True)
class ClientSettings:
    """Settings of one hub client, validated once when made; pass them explicitly."""

    request_timeout: float = 30.0
    """Seconds one attempt of a request may take in total (connect, send, read the answer)."""
    connect_timeout: float = 10.0
    """Seconds to open a connection (TCP and TLS), within request_timeout."""
    attempts: int = 5
    """Attempts per request, the first included (1 = never retry). Only 5xx, 429 and no-answer are retried."""
    backoff_base: float = 0.5
    """Seconds before the first retry; doubles per retry, with jitter (also paces watch reconnects)."""
    backoff_max: float = 10.0
    """Longest backoff between two attempts, in seconds."""
    retry_after_max: float = 30.0
    """Longest Retry-After (seconds) the client honours; a longer one is cut to this."""
    list_page_size: int = 500
    """Objects per page of a list (the ``limit`` parameter); pages follow ``continue`` tokens."""
    watch_timeout_seconds: int = 300
    """Server-side ``timeoutSeconds`` of one watch request; the watch then resumes from its resourceVersion."""
    watch_inactivity: float = 70.0
    """Seconds without an event or bookmark after which a watch is dropped, re-established and a gap recorded."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"client setting {f.name} must be a number, not {value!r}")
            if value <= 0:
                raise ConfigError(f"client setting {f.name} must be positive, not {value!r}")
        for name in ("attempts", "list_page_size", "watch_timeout_seconds"):
            if not isinstance(getattr(self, name), int):
                raise ConfigError(f"client setting {name} must be a whole number, not {getattr(self, name)!r}")
        if self.backoff_base > self.backoff_max:
            raise ConfigError(f"client setting backoff_base ({self.backoff_base} s) exceeds "
                              f"backoff_max ({self.backoff_max} s)")
        if self.connect_timeout > self.request_timeout:
            raise ConfigError(f"client setting connect_timeout ({self.connect_timeout} s) exceeds "
                              f"request_timeout ({self.request_timeout} s)")
