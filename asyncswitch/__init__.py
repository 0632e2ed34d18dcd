"""asyncswitch: prove that a Red Hat ACM hub switchover works, repeatedly and measured."""

from .errors import AsyncswitchError, ConfigError

__all__ = ["AsyncswitchError", "ConfigError", "__version__"]

__version__ = "0.1.0"
