"""The exception tree of asyncswitch.

    AsyncswitchError
    └── ConfigError        bad input from the user: one clear line, exit code 2

Later layers add their branches here (hub API errors, phase errors, fault errors).
"""

from __future__ import annotations

__all__ = ["AsyncswitchError", "ConfigError"]


class AsyncswitchError(Exception):
    """The root of every error asyncswitch raises on purpose."""


class ConfigError(AsyncswitchError):
    """The user's input is wrong; the message says what and how to fix it."""
