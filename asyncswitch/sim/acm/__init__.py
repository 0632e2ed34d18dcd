"""The simulated ACM hub pair: ACM, OADP/Velero, registration and observability controllers
on two emulated API servers, with a fleet of managed clusters outside both."""

from .context import SimConfig
from .pair import SimulatedHubPair
from .profiles import PROFILES, TimingProfile, profile_named

__all__ = ["PROFILES", "SimConfig", "SimulatedHubPair", "TimingProfile", "profile_named"]
