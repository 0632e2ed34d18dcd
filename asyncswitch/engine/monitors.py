"""Watch-based monitors: one task per watched kind per hub, feeding the engine's event bus.

Each monitor runs a resilient watch (asyncswitch.kube.watch), publishes what it sees, records
its own health (events, last event, gaps, relists) and feeds the alert rules. Alerts are
raised once per episode; time-in-state thresholds are timers armed and disarmed by events,
never polls.
Every create or patch the cycle makes to a watched object is paired with the watch event that
shows it and published as a ``reaction`` (see asyncswitch.engine.reactions).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..kube import (
    ACM_RESTORES,
    BACKUP_SCHEDULES,
    DEPLOYMENTS,
    MANAGED_CLUSTERS,
    PODS,
    STATEFUL_SETS,
    VELERO_BACKUPS,
    VELERO_RESTORES,
    Hub,
    Resource,
    WatchDriver,
    Write,
    watch,
)
from ..kube.events import Gap, WatchEvent
from ..switchover.facts import condition_status, phase
from ..switchover.names import AVAILABLE, BACKUP_NAMESPACE, LOCAL_CLUSTER, OBSERVABILITY_NAMESPACE
from .reachability import HubNotAnswering
from .reactions import Reaction, ReactionMatcher
from .stalls import StallDetector, StallEpisode

__all__ = ["AlertThresholds", "MonitorHealth", "Monitors", "monitor_name"]

# (resource, namespace) watched on each hub.
WATCHED: tuple[tuple[Resource, str | None], ...] = (
    (MANAGED_CLUSTERS, None), (ACM_RESTORES, BACKUP_NAMESPACE), (BACKUP_SCHEDULES, BACKUP_NAMESPACE),
    (VELERO_BACKUPS, BACKUP_NAMESPACE), (VELERO_RESTORES, BACKUP_NAMESPACE),
    (DEPLOYMENTS, OBSERVABILITY_NAMESPACE), (STATEFUL_SETS, OBSERVABILITY_NAMESPACE), (PODS, OBSERVABILITY_NAMESPACE),
)



def monitor_name(resource: Resource, hub: str) -> str:
    """``restores.velero.io@hub-b``: the plural alone would give ACM's and Velero's Restore one name."""
    return f"{resource.key}@{hub}"


_WATCHED_KEYS = frozenset((resource.key, namespace) for resource, namespace in WATCHED)


@dataclass(frozen=True)
class AlertThresholds:
    """Time-in-state thresholds, in seconds (domain facts §4.3)."""

    cluster_unavailable: float = 300.0
    backup_failed: float = 600.0
    restore_stalled: float = 900.0
    watch_stall: float = 5.0
    """A write of ours its watch has not shown after this many seconds: the hub's watches are stalled
    (asyncswitch.engine.stalls)."""


@dataclass
class MonitorHealth:
    """What one monitor knows about itself."""

    name: str
    events: int = 0
    last_event_wall: float | None = None
    gaps: list[Gap] = field(default_factory=list)
    relists: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "events": self.events, "last_event": self.last_event_wall,
                "relists": self.relists, "gaps": [{"reason": g.reason, "duration_s": g.duration,
                                                   "started": g.started_wall} for g in self.gaps]}


Publish = Callable[[str, dict[str, Any]], None]


class Monitors:
    """All monitors of one cycle, and the alert rules they feed."""

    def __init__(self, hubs: dict[str, Hub], *, publish: Publish, thresholds: AlertThresholds,
                 new_hub: str, activation_started: Callable[[], float | None]) -> None:
        self.hubs = hubs
        self.publish = publish
        self.thresholds = thresholds
        self.new_hub = new_hub
        self._activation_started = activation_started
        self.health: dict[str, MonitorHealth] = {}
        self._timers: dict[tuple[str, str, str], asyncio.TimerHandle] = {}
        self._raised: set[tuple[str, str, str]] = set()
        self._reconnected: set[str] = set()
        self._enabled_schedules: dict[str, set[str]] = {name: set() for name in hubs}
        self._tasks: list[asyncio.Task[None]] = []
        self._listening = contextlib.ExitStack()
        self._reactions = ReactionMatcher()
        self._drivers: dict[str, WatchDriver] = {}
        self._stalls = StallDetector(after=thresholds.watch_stall, on_end=self._stall_ended)

    async def run(self, *, task_group: asyncio.TaskGroup, first_list_timeout: float | None = None) -> None:
        """Start one task per watched kind per hub; returns once every first list has arrived.

        A first list that does not arrive within ``first_list_timeout`` seconds raises HubNotAnswering
        naming the hubs and kinds still waiting (their watches would otherwise retry for ever)."""
        ready: dict[str, asyncio.Event] = {}
        for hub in self.hubs.values():
            self._listening.enter_context(hub.writes_observed_by(self._wrote))
            self._listening.enter_context(hub.gaps_observed_by(self._other_watch_gap))
            for resource, namespace in WATCHED:
                event = ready[monitor_name(resource, hub.name)] = asyncio.Event()
                self._tasks.append(task_group.create_task(self._watch(hub, resource, namespace, event),
                                                          name=f"monitor:{monitor_name(resource, hub.name)}"))
        try:
            async with asyncio.timeout(first_list_timeout):
                for event in ready.values():
                    await event.wait()
        except TimeoutError:
            waiting = [name for name, event in ready.items() if not event.is_set()]
            raise HubNotAnswering(f"no first list within {first_list_timeout:g} s from {', '.join(waiting)} "
                                  "(--hub-answer-timeout)") from None

    def close(self) -> None:
        """Stop every monitor task and disarm every threshold timer. A gap still open is recorded, up to now
        (the cycle ends blind on that watch: its last stretch must not look seen)."""
        for driver in self._drivers.values():
            driver.close_open_gap()  # its on_gap records it
        self._stalls.close()
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        for task in self._tasks:
            task.cancel()
        # Each cancelled task's traceback holds its frames, which hold this object: forget the tasks (their
        # task group still awaits them) so the monitors' state goes without a full collection.
        self._tasks.clear()
        self._listening.close()

    def _record_gap(self, name: str, gap: Gap) -> None:
        health = self.health.setdefault(name, MonitorHealth(name))
        health.gaps.append(gap)
        self.alert("watch_gap", name.rsplit("@", 1)[-1], name,
                   f"the {name} watch was blind for {gap.duration:.3f} s ({gap.reason})")

    def _other_watch_gap(self, resource: Resource, gap: Gap, driver: WatchDriver) -> None:
        """A gap of a watch that is not a monitor's: the pipeline's own waits."""
        if driver not in self._drivers.values():
            self._record_gap(f"pipeline:{monitor_name(resource, driver.hub)}", gap)

    async def _watch(self, hub: Hub, resource: Resource, namespace: str | None, ready: asyncio.Event) -> None:
        name = monitor_name(resource, hub.name)
        health = self.health[name] = MonitorHealth(name)
        gap_alert = ("watch_gap", hub.name, name)

        # The rules read each event, never the set: the driver keeps names and versions, not objects.
        driver = WatchDriver(clock=asyncio.get_running_loop().time, hub=hub.name, resource=resource.key,
                             on_gap=lambda gap: self._record_gap(name, gap), keep_objects=False)
        self._drivers[name] = driver
        try:
            async with contextlib.aclosing(watch(hub, resource, namespace=namespace, driver=driver)) as events:
                async for event in events:
                    # A delivery ends a watch-gap episode: the next gap is a new one. A watch that stays
                    # stalled across reconnects delivers nothing, and so raises one alert, not one each time.
                    self._raised.discard(gap_alert)
                    health.events += 1
                    health.last_event_wall = event.received_wall
                    health.relists = driver.lists - 1
                    if event.type == "SYNC":
                        ready.set()
                        continue
                    if not event.from_list:
                        self._noticed(hub.name, resource, event)
                    self._observe(hub.name, resource, event)
        finally:
            ready.set()

    # -- reaction latency ----------------------------------------------------------------------

    def _wrote(self, write: Write) -> None:
        if (write.resource.key, write.namespace) in _WATCHED_KEYS:
            reaction = self._reactions.wrote(write)
            self._stalls.wrote(write, already_seen=reaction is not None)
            self._publish_reaction(reaction)

    def _noticed(self, hub: str, resource: Resource, event: WatchEvent) -> None:
        self._stalls.noticed(hub, resource.key, event.name, event.resource_version, event.received_monotonic,
                             event.received_wall)
        self._publish_reaction(self._reactions.noticed(hub, resource.key, event.name, event.resource_version,
                                                       event.received_monotonic))

    def _publish_reaction(self, reaction: Reaction | None) -> None:
        if reaction is not None:
            write = reaction.write
            self.publish("reaction", {"hub": write.hub, "kind": write.resource.kind, "name": write.name,
                                      "verb": write.verb, "seconds": reaction.seconds,
                                      "after_answer_s": reaction.after_answer,
                                      "distorted": self._stalls.distorted(write.hub, write.answered)})

    def _stall_ended(self, episode: StallEpisode) -> None:
        assert episode.ended is not None
        assert episode.ended_wall is not None
        gap = Gap("stalled", episode.started, episode.ended, episode.started_wall, episode.ended_wall)
        for key in sorted(episode.watched):
            name = f"{key}@{episode.hub}"
            self.health.setdefault(name, MonitorHealth(name)).gaps.append(gap)
        self.alert("watch_stall", episode.hub, ", ".join(sorted(episode.watched)),
                   f"the watches of {episode.hub} delivered our writes {gap.duration:.3f} s late (stalled): "
                   "values measured meanwhile are marked distorted")

    # -- rules -------------------------------------------------------------------------------

    def _observe(self, hub: str, resource: Resource, event: WatchEvent) -> None:
        obj = event.object
        if resource is MANAGED_CLUSTERS:
            self._cluster(hub, event)
        elif resource is BACKUP_SCHEDULES:
            self._schedule(hub, event)
        elif resource is ACM_RESTORES:
            self._threshold(hub, "restore_stalled", event.name,
                            active=event.type != "DELETED" and phase(obj) not in (
                                "Enabled", "Finished", "FinishedWithErrors", "Error", "Completed"),
                            seconds=self.thresholds.restore_stalled,
                            message=f"Restore {event.name} on {hub} has been {phase(obj) or 'new'}")
        elif resource is VELERO_BACKUPS:
            self._threshold(hub, "backup_failed", event.name,
                            active=event.type != "DELETED" and phase(obj) in ("Failed", "PartiallyFailed"),
                            seconds=0.0, message=f"Velero backup {event.name} on {hub} is {phase(obj)}")
        if resource in (MANAGED_CLUSTERS, ACM_RESTORES, BACKUP_SCHEDULES, VELERO_BACKUPS, VELERO_RESTORES):
            self.publish("watch_event", {"hub": hub, "kind": resource.kind, "name": event.name,
                                         "event": event.type, "phase": phase(obj) or None,
                                         "received_monotonic": event.received_monotonic})

    def _cluster(self, hub: str, event: WatchEvent) -> None:
        name = event.name
        if name == LOCAL_CLUSTER:
            return
        available = event.type != "DELETED" and condition_status(event.object, AVAILABLE) == "True"
        started = self._activation_started()
        if hub == self.new_hub and available and started is not None and name not in self._reconnected:
            self._reconnected.add(name)
            self.publish("cluster_reconnected", {"hub": hub, "cluster": name,
                                                 "seconds": max(0.0, event.received_monotonic - started),
                                                 "distorted": self._stalls.distorted(hub, event.received_monotonic)})
        # Unavailable on the hub that manages the fleet now: after the activation that is the new hub.
        watching = hub == self.new_hub if started is not None else hub != self.new_hub
        self._threshold(hub, "cluster_unavailable", name,
                        active=watching and event.type != "DELETED" and not available,
                        seconds=self.thresholds.cluster_unavailable,
                        message=f"managed cluster {name} on {hub} has not been Available")

    def _schedule(self, hub: str, event: WatchEvent) -> None:
        obj = event.object
        if event.type != "DELETED" and phase(obj) == "BackupCollision":
            self.alert("backup_collision", hub, event.name,
                       f"BackupSchedule {event.name} on {hub} is BackupCollision: "
                       f"{(obj.get('status') or {}).get('lastMessage', '')}")
        else:
            self._raised.discard(("backup_collision", hub, event.name))
        enabled = event.type != "DELETED" and not (obj.get("spec") or {}).get("paused") and phase(obj) == "Enabled"
        (self._enabled_schedules[hub].add if enabled else self._enabled_schedules[hub].discard)(event.name)
        both = all(self._enabled_schedules.values())
        if both:
            self.alert("two_enabled_schedules", "both", "backupschedules",
                       "BackupSchedules are enabled on both hubs: both write to the shared storage")
        else:
            self._raised.discard(("two_enabled_schedules", "both", "backupschedules"))

    def _threshold(self, hub: str, rule: str, name: str, *, active: bool, seconds: float, message: str) -> None:
        key = (rule, hub, name)
        if not active:
            handle = self._timers.pop(key, None)
            if handle is not None:
                handle.cancel()
            self._raised.discard(key)
            return
        if key in self._timers or key in self._raised:
            return
        loop = asyncio.get_running_loop()
        self._timers[key] = loop.call_later(seconds, self._expire, key, f"{message} for {seconds:g} s")

    def _expire(self, key: tuple[str, str, str], message: str) -> None:
        self._timers.pop(key, None)
        self.alert(key[0], key[1], key[2], message)

    def alert(self, rule: str, hub: str, resource: str, message: str) -> None:
        """Raise an alert once per episode."""
        key = (rule, hub, resource)
        if key in self._raised:
            return
        self._raised.add(key)
        self.publish("alert", {"rule": rule, "hub": hub, "resource": resource, "message": message})
