"""The period of a BackupSchedule's cron expression, which is all the simulator needs of it."""

from __future__ import annotations

__all__ = ["cron_period_seconds"]

_DEFAULT = 3600.0


def _step(field: str, unit: float, span: int) -> float | None:
    if field.startswith("*/") and field[2:].isdigit() and int(field[2:]) > 0:
        return int(field[2:]) * unit
    if field == "*":
        return unit
    if "," in field:
        count = len(field.split(","))
        return span * unit / count
    return None


def cron_period_seconds(expression: str) -> float:
    """Seconds between runs of a five-field cron (``*/10 * * * *``, ``0 */4 * * *``, ``0 2 * * *``)
    or ``@every 30m``/``@hourly``/``@daily``; unknown forms count as hourly."""
    text = expression.strip()
    macros = {"@hourly": 3600.0, "@daily": 86400.0, "@midnight": 86400.0, "@weekly": 604800.0}
    if text in macros:
        return macros[text]
    if text.startswith("@every "):
        value = text.split(" ", 1)[1].strip()
        units = {"s": 1, "m": 60, "h": 3600}
        if value[:-1].isdigit() and value[-1] in units and int(value[:-1]) > 0:
            return float(int(value[:-1]) * units[value[-1]])
        return _DEFAULT
    fields = text.split()
    if len(fields) != 5:
        return _DEFAULT
    minute, hour, day, _, weekday = fields
    if hour == "*" and day == "*":
        return _step(minute, 60.0, 60) or _DEFAULT
    if minute.isdigit() and day == "*":
        return _step(hour, 3600.0, 24) or (86400.0 if hour.isdigit() else _DEFAULT)
    if minute.isdigit() and hour.isdigit():
        return 604800.0 if weekday != "*" else 86400.0
    return _DEFAULT
