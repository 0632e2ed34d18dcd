"""Cron expressions and Go durations as the backup operator and Velero read them: whether a
BackupSchedule's cron parses (robfig/cron's standard parser, with its error texts), its period,
and TTLs such as ``120h0m0s``."""

from __future__ import annotations

import re

__all__ = ["cron_error", "cron_period_seconds", "format_duration", "parse_duration"]

_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 6))
_NAMES = {3: {m: i + 1 for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep",
                                              "oct", "nov", "dec"))},
          4: {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}}
_DESCRIPTORS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s)")
_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def parse_duration(text: str | None, default: float) -> float:
    """Seconds of a Go duration (``720h``, ``1h30m``, ``45s``); ``default`` when empty or unreadable."""
    if not text:
        return default
    value = text.strip()
    if not value or _DURATION.sub("", value):
        return default
    return sum(float(n) * _UNITS[u] for n, u in _DURATION.findall(value))


def format_duration(seconds: float) -> str:
    """A Go duration string as Velero writes TTLs: ``1h5m0s``."""
    whole = int(seconds)
    return f"{whole // 3600}h{whole % 3600 // 60}m{whole % 60}s"


def _number(text: str, index: int, part: str) -> tuple[int | None, str | None]:
    names = _NAMES.get(index, {})
    if text.lower() in names:
        return names[text.lower()], None
    if not text.isdigit():
        return None, f'failed to parse int from {text}: strconv.Atoi: parsing "{text}": invalid syntax'
    return int(text), None


def _field_error(field: str, index: int) -> str | None:
    _, low, high = _FIELDS[index]
    for part in field.split(","):
        range_and_step = part.split("/")
        if len(range_and_step) > 2:
            return f"too many slashes: {part}"
        bounds = range_and_step[0].split("-")
        if len(bounds) > 2:
            return f"too many hyphens: {part}"
        start: int | None
        end: int | None
        if bounds[0] in ("*", "?"):
            start, end = low, high
        else:
            start, error = _number(bounds[0], index, part)
            if error:
                return error
            end = start
            if len(bounds) == 2:
                end, error = _number(bounds[1], index, part)
                if error:
                    return error
        if len(range_and_step) == 2:
            step, error = _number(range_and_step[1], -1, part)
            if error:
                return error
            if not step:
                return f"step of range should be a positive number: {part}"
        assert start is not None
        assert end is not None
        if start < low:
            return f"beginning of range ({start}) below minimum ({low}): {part}"
        if end > high:
            return f"end of range ({end}) above maximum ({high}): {part}"
        if start > end:
            return f"beginning of range ({start}) beyond end of range ({end}): {part}"
    return None


def cron_error(expression: str) -> str | None:
    """Why robfig/cron's ParseStandard refuses ``expression`` (its own words), or None when it parses."""
    text = expression.strip()
    if not text:
        return "empty spec string"
    if text.startswith("@"):
        if text in _DESCRIPTORS:
            return None
        if text.startswith("@every "):
            value = text.split(" ", 1)[1].strip()
            if parse_duration(value, -1.0) <= 0:
                return f'failed to parse duration {text}: time: invalid duration "{value}"'
            return None
        return f"unrecognized descriptor: {text}"
    fields = text.split()
    if len(fields) != 5:
        return f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]"
    for index, field in enumerate(fields):
        error = _field_error(field, index)
        if error:
            return error
    return None

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
