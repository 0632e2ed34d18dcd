"""When a failed request is tried again, how long to wait first, and the counts kept per hub."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from .errors import HubApiError, HubUnreachableError, ServerError, TooManyRequestsError
from .settings import ClientSettings

__all__ = ["RequestCounters", "backoff_delay", "is_retryable"]


def is_retryable(error: HubApiError) -> bool:
    """5xx, 429 and no answer at all are worth another try; every other 4xx is final."""
    return isinstance(error, ServerError | TooManyRequestsError | HubUnreachableError)


def backoff_delay(attempt: int, *, settings: ClientSettings, rng: random.Random,
                  retry_after: float | None = None) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based).

    Exponential from backoff_base up to backoff_max with "equal jitter" (half fixed, half random),
    and never shorter than the server's Retry-After (cut to retry_after_max).
    """
    ceiling = min(settings.backoff_max, settings.backoff_base * 2.0 ** max(0, attempt - 1))
    delay = ceiling / 2 + rng.uniform(0, ceiling / 2)
    if retry_after is not None:
        delay = max(delay, min(retry_after, settings.retry_after_max))
    return delay


@dataclass
class RequestCounters:
    """Counts of one hub's HTTP traffic, for metrics: every attempt, retry and final failure."""

    attempts: int = 0
    """HTTP requests sent, retries and watch requests included."""
    retries: int = 0
    """Attempts that repeated a failed one."""
    failures: int = 0
    """Calls that ended in an error (after their retries, if any)."""
    by_verb: dict[str, int] = field(default_factory=dict)
    """Attempts per verb (get, list, watch, create, patch, delete)."""

    def count_attempt(self, verb: str, *, retry: bool) -> None:
        self.attempts += 1
        self.retries += retry
        self.by_verb[verb] = self.by_verb.get(verb, 0) + 1
