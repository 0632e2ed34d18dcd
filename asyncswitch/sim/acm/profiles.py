"""Timing profiles: how long each simulated controller step takes, and how fast simulated time runs.

Durations are modelled once, in simulated seconds, from the published figures of the domain
facts (Velero at about 275 items/s for backups and 53 items/s for restores, item counts
that grow with the fleet, reconnects spread over minutes, a 5-minute lease grace). A
profile then sets how many simulated seconds pass per real second.
"""

from __future__ import annotations

import asyncio
import math
import random
from dataclasses import dataclass, replace

__all__ = ["PROFILES", "SimClock", "TimingProfile", "profile_named"]


@dataclass(frozen=True)
class TimingProfile:
    """How fast the simulated hubs' controllers work."""

    name: str
    speed: float
    """Simulated seconds per real second; ``math.inf`` makes every step as fast as the loop allows."""
    jitter: float = 0.2
    """Relative spread of each duration (0.2 = ±20 %), drawn from the seeded generator."""
    min_cron_period: float = 0.5
    """Real seconds: the shortest gap between two scheduled backups, whatever the cron says."""
    min_backup_lifetime: float = 60.0
    """Real seconds: the shortest time a backup is kept, whatever its TTL says (the instant profile has
    no simulated time to scale a TTL by)."""
    min_policy_delay: float = 1.0
    """Real seconds: the shortest deliberate delay of an operator (the observability operator's scale
    revert), so that even the instant profile keeps "a while later" after the change it undoes."""
    # Published-figure model, simulated seconds.
    backup_items_per_second: float = 275.0
    restore_items_per_second: float = 53.0
    step_overhead: float = 5.0
    """Fixed cost of a Velero backup or restore (setup, upload)."""
    reconnect_min: float = 30.0
    reconnect_mode: float = 120.0
    reconnect_max: float = 300.0
    """A cluster's klusterlet moves to the new hub after a delay drawn from this triangle."""
    lease_grace: float = 300.0
    """Seconds without lease renewals before the hub a cluster left marks it Available=Unknown."""
    mch_pending: float = 300.0
    """How long the MultiClusterHub shows Pending after the hub took over the fleet."""
    restore_deletion: float = 20.0
    """How long an ACM Restore lingers, finalizer set, after deletion."""
    cluster_deletion: float = 10.0
    """Finalizer time of a ManagedCluster deletion."""
    mch_deletion: float = 600.0
    pod_start: float = 15.0
    """From pod creation (or a deleted pod) to Running and Ready."""
    mco_revert_after: float = 180.0
    """The observability operator scales its workloads back to defaults after this long."""
    import_delay: float = 5.0
    """The import controller's reaction to an immediate-import annotation."""
    resync_blip: float = 2.0
    """How long a passive restore shows Unknown/Running around each periodic sync."""

    def with_speed(self, speed: float) -> TimingProfile:
        if speed <= 0:
            raise ValueError("speed must be positive")
        return replace(self, speed=speed)


PROFILES: dict[str, TimingProfile] = {
    "instant": TimingProfile("instant", speed=math.inf, jitter=0.0, min_cron_period=1.0),
    "fast": TimingProfile("fast", speed=200.0),
    "realistic": TimingProfile("realistic", speed=1.0),
}


def profile_named(name: str, *, speed: float | None = None) -> TimingProfile:
    try:
        profile = PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown simulator profile {name!r}; use one of {', '.join(PROFILES)}") from None
    return profile.with_speed(speed) if speed is not None else profile


class SimClock:
    """Sleeps in simulated seconds and draws seeded durations."""

    def __init__(self, profile: TimingProfile, rng: random.Random) -> None:
        self.profile = profile
        self.rng = rng
        self.settling = False
        """While True every duration is zero: the pair is being brought to its starting state."""

    def real(self, sim_seconds: float) -> float:
        """Real seconds for a simulated duration."""
        if self.settling or math.isinf(self.profile.speed):
            return 0.0
        return max(0.0, sim_seconds) / self.profile.speed

    def jittered(self, sim_seconds: float) -> float:
        spread = self.profile.jitter
        return sim_seconds * (1 + self.rng.uniform(-spread, spread)) if spread else sim_seconds

    async def sleep(self, sim_seconds: float, *, jitter: bool = True) -> None:
        """Sleep for a (jittered) simulated duration; zero still yields to the loop once."""
        await asyncio.sleep(self.real(self.jittered(sim_seconds) if jitter else sim_seconds))

    def reconnect_delay(self) -> float:
        p = self.profile
        return self.rng.triangular(p.reconnect_min, p.reconnect_max, p.reconnect_mode)

    def backup_seconds(self, items: int) -> float:
        return self.profile.step_overhead + items / self.profile.backup_items_per_second

    def restore_seconds(self, items: int) -> float:
        return self.profile.step_overhead + items / self.profile.restore_items_per_second

    async def policy_sleep(self, sim_seconds: float) -> None:
        """Sleep before an operator undoes a client's change (a scale revert, a re-sync): never shorter
        than the profile's ``min_policy_delay`` in real seconds, so that the state in between lasts
        long enough for a client that checks, rather than watches, to see it (docs/simulator.md)."""
        await asyncio.sleep(max(self.profile.min_policy_delay, self.real(sim_seconds)))

    def lifetime(self, sim_seconds: float) -> float:
        """Real seconds a backup with this TTL is kept; also while settling, when other durations are zero."""
        return max(self.profile.min_backup_lifetime, max(0.0, sim_seconds) / self.profile.speed)

    def cron_period(self, sim_period: float) -> float:
        """Real seconds between scheduled backups."""
        return max(self.profile.min_cron_period, self.real(sim_period))
