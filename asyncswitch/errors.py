"""The exception tree of asyncswitch.

    AsyncswitchError
    ├── ConfigError                  bad input from the user: one clear line, exit code 2
    ├── HubApiError                  a hub request failed: hub, resource, status, reason (asyncswitch.kube.errors)
    │   ├── NotFoundError            404
    │   ├── ConflictError            409
    │   ├── GoneError                410: relist
    │   ├── TooManyRequestsError     429: retried, honouring Retry-After
    │   ├── ServerError              5xx: retried
    │   └── HubUnreachableError      no answer: refused, reset, TLS, timeout; retried
    ├── WaitTimeout                  a watched condition did not hold in time (asyncswitch.kube.errors)
    └── PhaseError                   a switchover phase failed: phase, step (asyncswitch.switchover.errors)
        ├── TemporaryPhaseError      may pass on resume
        └── PreflightFailed          critical preflight checks failed

Later layers add their branches here (fault errors).
"""

from __future__ import annotations

__all__ = ["AsyncswitchError", "ConfigError"]


class AsyncswitchError(Exception):
    """The root of every error asyncswitch raises on purpose."""


class ConfigError(AsyncswitchError):
    """The user's input is wrong; the message says what and how to fix it."""
