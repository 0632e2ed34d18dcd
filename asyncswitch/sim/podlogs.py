"""What ``GET …/pods/{name}/log`` returns: pluggable log sources and the kubelet's log options.

A source is a function ``(pod, container) → lines`` that the layer above registers on a server
for the pods of a namespace and label selector (the simulated ACM hubs make Velero's from the
Backups and Restores in the store). Pods no source claims get a few start-up lines. The lines
are made when the log is requested, so they always reflect the store as it is then.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .selectors import LabelSelector

__all__ = ["LogLine", "LogSource", "PodLogs", "container_started_at", "parse_time", "render_log", "startup_lines"]


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line of a container's log (without its newline) and when it was written."""

    time: datetime
    text: str


LogSource = Callable[[Mapping[str, Any], str], Iterable[LogLine]]
"""``(pod, container name) →`` the container's lines, oldest first."""


def parse_time(stamp: str | None) -> datetime | None:
    if not stamp:
        return None
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def container_started_at(pod: Mapping[str, Any], container: str) -> datetime:
    """When the container's current instance started: its running state, else the pod's start or creation."""
    status = pod.get("status") or {}
    for cs in status.get("containerStatuses") or []:
        if cs.get("name") == container:
            started = parse_time(((cs.get("state") or {}).get("running") or {}).get("startedAt"))
            if started is not None:
                return started
    meta = pod.get("metadata") or {}
    return parse_time(status.get("startTime")) or parse_time(meta.get("creationTimestamp")) or datetime.now(UTC)


def _klog(time: datetime, source: str, message: str) -> str:
    return f"I{time:%m%d %H:%M:%S.%f}       1 {source}] {message}"


def startup_lines(pod: Mapping[str, Any], container: str) -> list[LogLine]:
    """What a controller's container prints as it starts (klog, controller-runtime style)."""
    start = container_started_at(pod, container)
    meta = pod.get("metadata") or {}
    image = next((c.get("image", "") for c in (pod.get("spec") or {}).get("containers") or []
                  if c.get("name") == container), "")
    lock = f"{meta.get('namespace', 'default')}/{container}-lock"
    steps = [
        ("main.go:57", f'"Starting" component="{container}" image="{image}"'),
        ("leaderelection.go:254", f"attempting to acquire leader lease {lock}..."),
        ("leaderelection.go:268", f"successfully acquired lease {lock}"),
        ("controller.go:198", f'"Starting Controller" controller="{container}"'),
        ("controller.go:234", f'"Starting workers" controller="{container}" worker count=1'),
    ]
    return [LogLine(start + timedelta(milliseconds=7 * i), _klog(start + timedelta(milliseconds=7 * i), src, msg))
            for i, (src, msg) in enumerate(steps)]


class PodLogs:
    """The log sources of one server, looked up per pod; the newest matching registration wins."""

    def __init__(self) -> None:
        self._sources: list[tuple[str | None, LabelSelector, LogSource]] = []

    def add(self, source: LogSource, *, namespace: str | None = None,
            label_selector: str | None = None) -> Callable[[], None]:
        """Make ``source`` write the logs of the pods in ``namespace`` (None: any) matching the selector.

        Returns a remover.
        """
        entry = (namespace, LabelSelector.parse(label_selector), source)
        self._sources.append(entry)
        return lambda: self._sources.remove(entry)

    def lines(self, pod: Mapping[str, Any], container: str) -> list[LogLine]:
        meta = pod.get("metadata") or {}
        for namespace, selector, source in reversed(self._sources):
            if namespace in (None, meta.get("namespace")) and selector.matches(pod):
                return list(source(pod, container))
        return startup_lines(pod, container)


def render_log(
    lines: Iterable[LogLine],
    *,
    tail: int | None = None,
    since: datetime | None = None,
    timestamps: bool = False,
    limit_bytes: int | None = None,
) -> bytes:
    """The log body as the kubelet sends it: lines since a time, the last ``tail`` of them, capped in bytes."""
    kept = [line for line in lines if since is None or line.time >= since]
    if tail is not None:
        kept = kept[-tail:] if tail else []
    body = "".join(
        (f"{line.time.astimezone(UTC):%Y-%m-%dT%H:%M:%S.%f}000Z {line.text}\n" if timestamps else f"{line.text}\n")
        for line in kept
    ).encode()
    return body[:limit_bytes] if limit_bytes is not None else body
