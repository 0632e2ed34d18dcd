"""ACM versions the simulated hubs can be: which behaviour each release line has.

The cluster-backup-operator changed how it pauses, collides, finalizes and validates from one
release to the next (acm-operator-facts §0). Each simulated hub has its own version, and every
version-dependent branch in the controllers asks ``AcmVersion`` rather than comparing strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["DEFAULT_ACM_VERSION", "SUPPORTED_MINORS", "AcmVersion", "parse_acm_version"]

DEFAULT_ACM_VERSION = "2.14.2"
SUPPORTED_MINORS = range(11, 18)
"""2.11 … 2.17: the release lines whose operator behaviour is modelled."""

_VERSION = re.compile(r"^2\.(\d+)(?:\.([0-9]+|x))?$")


@dataclass(frozen=True)
class AcmVersion:
    """One hub's ACM version and the behaviour markers that follow from it (facts §0)."""

    text: str
    minor: int

    def at_least(self, minor: int) -> bool:
        return self.minor >= minor

    @property
    def has_paused_field(self) -> bool:
        """BackupSchedule ``spec.paused`` exists (2.12+); before, the API server prunes it."""
        return self.minor >= 12

    @property
    def pause_deletes_velero_schedules(self) -> bool:
        """Pause and collision delete the Velero Schedules (≤ 2.14); 2.15+ pause them instead."""
        return self.minor <= 14

    @property
    def restore_finalizer(self) -> bool:
        """ACM Restores carry a finalizer held until their Velero restores are gone (2.14+)."""
        return self.minor >= 14

    @property
    def operator_sets_immediate_import(self) -> bool:
        """Post-restore activation sets ``immediate-import: ""`` itself (2.14+, a backport)."""
        return self.minor >= 14

    @property
    def import_only_default(self) -> bool:
        """The import controller's default strategy is ImportOnly (2.14+)."""
        return self.minor >= 14

    @property
    def restore_webhook(self) -> bool:
        """The Restore validating webhook ``vrestore.kb.io`` (2.16+)."""
        return self.minor >= 16

    @property
    def unknown_phase(self) -> bool:
        """A Velero restore with an empty status shows the ACM Restore as Unknown (≤ 2.16)."""
        return self.minor <= 16

    @property
    def enabled_with_errors(self) -> bool:
        """Sync restores go EnabledWithErrors instead of Error and keep syncing (2.17+)."""
        return self.minor >= 17

    @property
    def failback_exception(self) -> bool:
        """A hub that ran the latest activation does not collide on the other hub's backups (2.17+)."""
        return self.minor >= 17

    @property
    def keeps_newest_marker_only(self) -> bool:
        """Post-restore activation deletes older ``acm-restore-clusters-*`` markers (2.17+, #1580)."""
        return self.minor >= 17

    @property
    def post_restore_by_managed_cluster(self) -> bool:
        """Post-restore iterates ManagedClusters and picks MSA secrets (2.15+); before, MSA namespaces."""
        return self.minor >= 15


def parse_acm_version(text: str) -> AcmVersion:
    """``2.15``, ``2.15.3`` or ``2.14.x``; anything outside 2.11 to 2.17 is refused with one clear line."""
    match = _VERSION.match(text.strip())
    if match is None:
        raise ValueError(f"ACM version {text!r} is not of the form 2.MINOR[.PATCH], e.g. 2.14 or 2.15.3")
    minor = int(match.group(1))
    if minor not in SUPPORTED_MINORS:
        first, last = SUPPORTED_MINORS[0], SUPPORTED_MINORS[-1]
        raise ValueError(f"ACM version {text} is not simulated; use 2.{first} to 2.{last}")
    return AcmVersion(text=text.strip(), minor=minor)
