"""Errors of the switchover pipeline: each carries the phase it happened in."""

from __future__ import annotations

from ..errors import AsyncswitchError

__all__ = ["PhaseError", "PreflightFailed", "TemporaryPhaseError"]


class PhaseError(AsyncswitchError):
    """A phase could not do what it must; the message says what and what was seen."""

    def __init__(self, message: str, *, phase: str, step: str | None = None) -> None:
        super().__init__(message)
        self.phase = phase
        self.step = step


class TemporaryPhaseError(PhaseError):
    """A phase failed for a reason that may go away (a hub unreachable, a wait timed out); resume may pass."""


class PreflightFailed(PhaseError):
    """One or more critical preflight checks failed."""

    def __init__(self, failures: list[str]) -> None:
        super().__init__("preflight failed: " + "; ".join(failures), phase="preflight")
        self.failures = failures
