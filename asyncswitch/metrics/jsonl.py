"""metrics.jsonl: one writer task, batched writes, flushed and fsynced at each cycle end.

A crash loses at most the records since the last cycle end; every line on disk is a whole
JSON object (lines are written whole and a torn last line is dropped on resume). Per-event records
(watch events, reactions) become one tally per cycle unless ``record_events`` (asyncswitch.metrics.tally).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Collection
from pathlib import Path
from typing import IO, Any

from ..engine.events import EngineEvent
from .tally import PER_EVENT_TYPES, CycleTally

__all__ = ["JsonlWriter", "last_record_time", "read_records", "repair_jsonl"]

_DURABLE = frozenset({"cycle_end", "run_end"})


def repair_jsonl(path: Path) -> int:
    """Drop a torn last line (from a crash mid-write); returns how many bytes were cut."""
    if not path.exists():
        return 0
    data = path.read_bytes()
    if not data or data.endswith(b"\n"):
        return 0
    keep = data.rfind(b"\n") + 1
    with path.open("r+b") as fh:
        fh.truncate(keep)
    return len(data) - keep


def read_records(path: Path, types: Collection[str]) -> list[dict[str, Any]]:
    """The records of the given types in a metrics.jsonl, in order (a torn last line is skipped)."""
    if not path.exists():
        return []
    records: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not any(f'"type": "{kind}"' in line for kind in types):
                continue  # most lines are of other types: skip them without parsing
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("type") in types:
                records.append(record)
    return records


def last_record_time(path: Path, *, tail: int = 65536) -> float | None:
    """The ``ts`` of the last whole record of a metrics.jsonl (read from its end), or None.

    After a kill this is the last moment the run is known to have been alive."""
    try:
        with path.open("rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(0, size - tail))
            lines = fh.read().split(b"\n")
    except OSError:
        return None
    for line in reversed(lines):
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a torn line, or the partial first line of the tail
        if isinstance(record, dict) and isinstance(record.get("ts"), int | float):
            return float(record["ts"])
    return None


class JsonlWriter:
    """Consumes engine events from a queue and appends them to metrics.jsonl."""

    def __init__(self, path: Path, queue: asyncio.Queue[EngineEvent | None], *, record_events: bool = False) -> None:
        self.path = path
        self.queue = queue
        self.lines = 0
        self.tally = None if record_events else CycleTally()

    async def run(self) -> None:
        fh = await asyncio.to_thread(self._open)
        try:
            while True:
                event = await self.queue.get()
                batch: list[EngineEvent | None] = [event]
                while not self.queue.empty():  # drain what is already queued: one write per batch
                    batch.append(self.queue.get_nowait())
                done = any(e is None for e in batch)
                events = self._lines_of([e for e in batch if e is not None])
                durable = any(e.type in _DURABLE for e in events) or done
                if events or durable:
                    # Encoding thousands of records (--record-events) would stall the loop: the thread does it.
                    await asyncio.to_thread(self._write, fh, events, durable)
                self.lines += len(events)
                if done:
                    return
        finally:
            await asyncio.to_thread(fh.close)

    def _lines_of(self, batch: list[EngineEvent]) -> list[EngineEvent]:
        """The records to write: per-event ones folded into their cycle's tally, which is written
        before the cycle's end (or the run's end, for a cycle that did not end)."""
        tally = self.tally
        if tally is None:
            return batch
        out: list[EngineEvent] = []
        for event in batch:
            if event.type in PER_EVENT_TYPES:
                tally.add(event)
                continue
            if event.type == "cycle_end":
                if (record := tally.take(event.cycle_id, event.run_id)) is not None:
                    out.append(record)
            elif event.type == "run_end":
                out.extend(tally.take_all(event.run_id))
            out.append(event)
        return out

    def _open(self) -> IO[str]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        repair_jsonl(self.path)
        return self.path.open("a", encoding="utf-8")

    @staticmethod
    def _write(fh: IO[str], events: list[EngineEvent], durable: bool) -> None:
        fh.write("".join(json.dumps(e.to_record(), default=_default) + "\n" for e in events))
        if durable:
            fh.flush()
            os.fsync(fh.fileno())


def _default(value: Any) -> Any:
    return str(value)
