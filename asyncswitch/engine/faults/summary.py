"""Per-scenario counts and time to recovery, for summary.json and ``analyze``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["VERDICTS", "fault_summary"]

VERDICTS = ("recovered", "failed-safe", "damaged")


def fault_summary(cycles: Sequence[Mapping[str, Any]], histograms: Mapping[str, Mapping[str, float]]) -> dict[str, Any]:
    """``{"scenarios": {name: {injected, skipped, recovered, failed-safe, damaged, ttr_ms}}, "verdicts": {...}}``
    from the ended cycles' results and the ``fault.<scenario>`` time-to-recovery histograms. A cycle's
    verdict counts for every scenario that acted in it."""
    scenarios: dict[str, dict[str, Any]] = {}
    verdicts = dict.fromkeys(VERDICTS, 0)
    for cycle in cycles:
        verdict = cycle.get("verdict")
        if verdict in verdicts:
            verdicts[verdict] += 1
        for fault in cycle.get("faults") or []:
            entry = scenarios.setdefault(fault["scenario"], {"injected": 0, "skipped": 0, **dict.fromkeys(VERDICTS, 0)})
            if fault.get("acted"):
                entry["injected"] += 1
                if verdict in verdicts:
                    entry[verdict] += 1
            else:
                entry["skipped"] += 1
    for name, entry in scenarios.items():
        entry["ttr_ms"] = dict(histograms.get(f"fault.{name}", {"count": 0}))
    return {"verdicts": verdicts, "scenarios": dict(sorted(scenarios.items()))}
