"""Faults an emulated API server can be told to inject, and the log of what it served.

Both are plain data with seeded randomness, set from Python (``server.faults``) or over the
admin endpoint (``/_emulator/faults``), and read by the request path of the server.
"""

from __future__ import annotations

import itertools
import random
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["FaultDecision", "FaultRule", "FaultTable", "RequestLog", "RequestRecord"]

VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")


@dataclass(frozen=True)
class FaultRule:
    """Disturb requests that match ``verb`` and ``resource``."""

    verb: str = "*"
    """A verb (get, list, watch, create, update, patch, delete, deletecollection) or ``*``."""
    resource: str = "*"
    """A plural (``restores``), a plural.group (``restores.velero.io``) or ``*``."""
    namespace: str | None = None
    """Only requests in this namespace; None for any."""
    name: str | None = None
    """Only requests for this object name; None for any."""
    error_rate: float = 0.0
    """Probability, 0 to 1, that a matching request fails with ``status``."""
    status: int = 500
    """HTTP status of an injected failure: 500, 503, 429, ..."""
    retry_after: int | None = None
    """Seconds for the Retry-After header of an injected failure (with 429 or 503)."""
    latency: float = 0.0
    """Seconds added before a matching request is served."""
    times: int | None = None
    """How many requests the rule may disturb before it retires itself; None for no limit."""
    id: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultRule:
        allowed = {f for f in cls.__dataclass_fields__ if f != "id"}
        unknown = set(data) - allowed
        if unknown:
            raise ValueError(f"unknown fault rule fields: {', '.join(sorted(unknown))}")
        rule = cls(**data)
        if rule.verb != "*" and rule.verb not in VERBS:
            raise ValueError(f"unknown verb {rule.verb!r}; use one of {', '.join(VERBS)} or *")
        if not 0.0 <= rule.error_rate <= 1.0:
            raise ValueError("error_rate must be between 0 and 1")
        if rule.latency < 0:
            raise ValueError("latency must not be negative")
        if not 400 <= rule.status <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
        return rule

    def matches(self, verb: str, resource: str, namespace: str | None, name: str | None) -> bool:
        if self.verb not in ("*", verb):
            return False
        if self.resource != "*" and self.resource not in (resource, resource.split(".", 1)[0]):
            return False
        if self.namespace is not None and self.namespace != namespace:
            return False
        return self.name is None or self.name == name


@dataclass(frozen=True)
class FaultDecision:
    latency: float = 0.0
    status: int | None = None
    retry_after: int | None = None
    rule_id: str | None = None


@dataclass
class FaultTable:
    """The active fault rules of one server, plus the one-shot watch faults."""

    seed: int = 0
    _rules: dict[str, FaultRule] = field(default_factory=dict)
    _fired: dict[str, int] = field(default_factory=dict)
    _expire_next: dict[str, int] = field(default_factory=dict)
    _stalled: set[str] = field(default_factory=set)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def add(self, rule: FaultRule) -> str:
        rule_id = rule.id or f"fault-{next(self._ids)}"
        self._rules[rule_id] = FaultRule(**{**asdict(rule), "id": rule_id})
        self._fired[rule_id] = 0
        return rule_id

    def remove(self, rule_id: str) -> bool:
        self._fired.pop(rule_id, None)
        return self._rules.pop(rule_id, None) is not None

    def clear(self) -> None:
        """Remove every rule and one-shot fault; open watches resume delivering."""
        self._rules.clear()
        self._fired.clear()
        self._expire_next.clear()
        self._stalled.clear()

    def rules(self) -> list[FaultRule]:
        return list(self._rules.values())

    def fired(self, rule_id: str) -> int:
        return self._fired.get(rule_id, 0)

    def decide(self, verb: str, resource: str, namespace: str | None, name: str | None) -> FaultDecision:
        latency = 0.0
        delayed_by: str | None = None
        for rule in list(self._rules.values()):
            if not rule.matches(verb, resource, namespace, name):
                continue
            if rule.times is not None and self._fired[rule.id] >= rule.times:
                continue
            latency += rule.latency
            if rule.latency and delayed_by is None:
                delayed_by = rule.id
            fails = rule.error_rate > 0 and self._rng.random() < rule.error_rate
            if rule.latency or fails:
                self._fired[rule.id] += 1
            if fails:
                return FaultDecision(latency, rule.status, rule.retry_after, rule.id)
        return FaultDecision(latency, rule_id=delayed_by)

    def expire_next_watches(self, resource: str = "*", count: int = 1) -> None:
        """The next ``count`` watches of ``resource`` (or any, with ``*``) start with a 410 Expired event."""
        self._expire_next[resource] = self._expire_next.get(resource, 0) + count

    def take_expiry(self, resource: str) -> bool:
        for key in (resource, resource.split(".", 1)[0], "*"):
            if self._expire_next.get(key):
                self._expire_next[key] -= 1
                return True
        return False

    def stall_watches(self, resource: str = "*") -> None:
        """Open and new watches of ``resource`` stay connected but send nothing, not even bookmarks."""
        self._stalled.add(resource)

    def unstall_watches(self, resource: str = "*") -> None:
        self._stalled.discard(resource)

    def is_stalled(self, resource: str) -> bool:
        return bool(self._stalled & {"*", resource, resource.split(".", 1)[0]})

    def describe(self) -> dict[str, Any]:
        return {
            "rules": [{**asdict(r), "fired": self._fired.get(r.id, 0)} for r in self._rules.values()],
            "expire_next_watches": dict(self._expire_next),
            "stalled_watches": sorted(self._stalled),
        }


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One served request, as tests and benchmarks read it back."""

    time: float
    """Wall-clock time the request arrived (seconds since the epoch)."""
    verb: str
    path: str
    status: int
    duration_ms: float
    resource: str | None = None
    namespace: str | None = None
    name: str | None = None
    subresource: str | None = None
    user: str | None = None
    fault: str | None = None
    """The id of the fault rule that failed or delayed the request, if any."""

    def to_dict(self) -> dict[str, Any]:
        # Field by field: dataclasses.asdict deep-copies and is ten times slower for large logs.
        return {name: getattr(self, name) for name in self.__slots__}


class RequestLog:
    """The newest requests a server served, bounded so its cost never grows with traffic."""

    def __init__(self, size: int = 100_000) -> None:
        self._records: deque[RequestRecord] = deque(maxlen=size)
        self.total = 0

    def add(self, record: RequestRecord) -> None:
        self._records.append(record)
        self.total += 1

    def records(
        self,
        *,
        verb: str | None = None,
        resource: str | None = None,
        name: str | None = None,
        since: float | None = None,
    ) -> list[RequestRecord]:
        return [
            r for r in self._records
            if (verb is None or r.verb == verb)
            and (resource is None or (r.resource is not None
                                      and resource in (r.resource, r.resource.split(".", 1)[0])))
            and (name is None or r.name == name)
            and (since is None or r.time >= since)
        ]

    def clear(self) -> None:
        self._records.clear()

    @staticmethod
    def now() -> float:
        return time.time()
