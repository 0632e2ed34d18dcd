"""Reading a run directory, and only reading it: manifest.json, summary.json, the records of
metrics.jsonl that the analysis uses, and the encoded histograms.

Whatever cannot be read is a ConfigError naming the file. A torn last line of metrics.jsonl
(a killed run) is skipped, as the engine's own reader skips it; the file is never repaired here.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hdrh.codec import HdrCookieException, HdrHistogramSettingsException, HdrLengthException
from hdrh.histogram import HdrHistogram

from ..errors import ConfigError
from ..metrics.histograms import new_histogram

__all__ = ["RECORD_TYPES", "RunArtifacts", "read_run_dir"]

RECORD_TYPES = frozenset({"run_start", "run_end", "cycle_start", "phase_start", "phase_result", "cycle_end",
                          "cluster_reconnected", "reaction", "cycle_events", "alert", "fault_injected",
                          "fault_rolled_back", "fault_skipped", "cycle_verdict"})
"""The metrics.jsonl record types the analysis reads; lines of other types are not parsed."""

_DAMAGED_HISTOGRAM = (ValueError, IndexError, RuntimeError, zlib.error, HdrCookieException, HdrLengthException,
                      HdrHistogramSettingsException)
"""What hdrh raises for a blob that is not an encoded histogram (bad base64, zlib, cookie, length, range)."""


@dataclass(frozen=True)
class RunArtifacts:
    """The documents of one run directory, as read."""

    path: Path
    manifest: dict[str, Any] | None
    """None when manifest.json is absent (a run killed before it was written)."""
    summary: dict[str, Any] | None
    """None when summary.json is absent: the run was killed, or is still going."""
    records: dict[str, list[dict[str, Any]]]
    """metrics.jsonl records of RECORD_TYPES, by type, in file order."""
    histograms: dict[str, HdrHistogram]
    """Every histogram of histograms/, by name (``phase.activation``, ``cycle``, ``reaction`` ...)."""
    has_metrics: bool
    torn_last_line: bool
    """metrics.jsonl ends in a partial line, which was skipped."""

    def of(self, record_type: str) -> list[dict[str, Any]]:
        return self.records.get(record_type, [])


def read_run_dir(path: Path) -> RunArtifacts:
    """Everything the analysis needs from ``path``; a ConfigError if it is not a readable run directory."""
    if not path.exists():
        raise ConfigError(f"{path}: no such directory")
    if not path.is_dir():
        raise ConfigError(f"{path} is not a directory")
    metrics = path / "metrics.jsonl"
    summary_path = path / "summary.json"
    if not metrics.exists() and not summary_path.exists():
        raise ConfigError(f"{path} is not a run directory: it holds neither summary.json nor metrics.jsonl")
    records, torn = _read_records(metrics) if metrics.exists() else ({}, False)
    return RunArtifacts(path=path, manifest=_read_json(path / "manifest.json"), summary=_read_json(summary_path),
                        records=records, histograms=_histograms(path),
                        has_metrics=metrics.exists(), torn_last_line=torn)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise ConfigError(f"{path} is not a JSON object")
    return document


def _read_records(path: Path) -> tuple[dict[str, list[dict[str, Any]]], bool]:
    """The records of RECORD_TYPES, and whether the last line was torn. Lines are read as bytes, so a
    line cut inside a multi-byte character is a torn line like any other."""
    needles = [f'"type": "{kind}"'.encode() for kind in RECORD_TYPES]
    records: dict[str, list[dict[str, Any]]] = {}
    torn = False
    try:
        with path.open("rb") as fh:
            for number, line in enumerate(fh, 1):
                whole = line.endswith(b"\n")
                if whole and not any(needle in line for needle in needles):
                    continue  # most lines are watch events and steps: skip them unparsed
                try:
                    record = json.loads(line)
                except ValueError:
                    if not whole:  # only the last line can lack its newline
                        torn = True
                        continue
                    raise ConfigError(f"{path}: line {number} is not valid JSON") from None
                if isinstance(record, dict) and record.get("type") in RECORD_TYPES:
                    records.setdefault(record["type"], []).append(record)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    return records, torn


def _histograms(run_dir: Path) -> dict[str, HdrHistogram]:
    """histograms/, unless the run's last commit (run_state.json) holds more: the export lags the commit
    when a process was killed between the two, and the commit is what the cycle counts agree with."""
    exported = _read_histograms(run_dir / "histograms")
    committed = _committed_histograms(run_dir)
    return committed if _values(committed) > _values(exported) else exported


def _values(histograms: dict[str, HdrHistogram]) -> int:
    return sum(h.get_total_count() for h in histograms.values())


def _committed_histograms(run_dir: Path) -> dict[str, HdrHistogram]:
    """The histograms of the run's last cycle-end commit (run_state.json): they always agree with the
    cycles counted, where histograms/ is a copy that a kill can leave one cycle behind."""
    state = _read_json(run_dir / "run_state.json") if (run_dir / "run_state.json").exists() else None
    committed = (state or {}).get("committed")
    encoded = committed.get("histograms") if isinstance(committed, dict) else None
    if not isinstance(encoded, dict):
        return {}
    histograms: dict[str, HdrHistogram] = {}
    for name, text in encoded.items():
        histogram = new_histogram(str(name))
        try:
            histogram.decode_and_add(str(text).encode("ascii"))
        except _DAMAGED_HISTOGRAM as exc:  # a non-ASCII text is a ValueError too
            raise ConfigError(f"{run_dir / 'run_state.json'}: histogram {name!r} does not decode "
                              f"({exc or type(exc).__name__})") from None
        histograms[str(name)] = histogram
    return histograms


def _read_histograms(directory: Path) -> dict[str, HdrHistogram]:
    """Each ``<name>.hdr`` decoded into a fresh histogram of the collector's range for that name (the
    merge the collector itself does on resume)."""
    histograms: dict[str, HdrHistogram] = {}
    for path in sorted(directory.glob("*.hdr")):
        name = path.name.removesuffix(".hdr")
        histogram = new_histogram(name)
        try:
            histogram.decode_and_add(path.read_bytes())
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
        except _DAMAGED_HISTOGRAM as exc:
            raise ConfigError(f"{path} is not an encoded HDR histogram ({exc or type(exc).__name__})") from None
        histograms[name] = histogram
    return histograms
