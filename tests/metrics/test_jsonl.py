"""metrics.jsonl: a crash may tear the last line; what is on disk after a repair (or a resumed
writer) is whole JSON objects only, and nothing that was whole is lost."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from asyncswitch.engine import EngineEvent
from asyncswitch.metrics import JsonlWriter, read_records, repair_jsonl

WHOLE = '{"type": "cycle_start", "ts": 1.0, "run_id": "r", "cycle_id": "cycle-0001"}\n' \
        '{"type": "cycle_end", "ts": 2.0, "run_id": "r", "cycle_id": "cycle-0001", "success": true}\n'
TORN = '{"type": "watch_event", "ts": 3.0, "run_id": "r", "cycle_id": "cycle-0002", "na'


def lines_of(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_repair_cuts_a_torn_last_line_and_keeps_every_whole_one(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    path.write_text(WHOLE + TORN)

    assert repair_jsonl(path) == len(TORN)

    assert path.read_text() == WHOLE
    assert [r["type"] for r in lines_of(path)] == ["cycle_start", "cycle_end"]


def test_repair_leaves_a_whole_file_alone(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    path.write_text(WHOLE)

    assert repair_jsonl(path) == 0
    assert repair_jsonl(tmp_path / "absent.jsonl") == 0

    assert path.read_text() == WHOLE


def test_repair_of_a_file_that_is_only_a_torn_line_leaves_it_empty(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    path.write_text(TORN)

    assert repair_jsonl(path) == len(TORN)
    assert path.read_text() == ""


async def test_a_resumed_writer_repairs_the_file_then_appends_whole_lines(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    path.write_text(WHOLE + TORN)
    queue: asyncio.Queue[EngineEvent | None] = asyncio.Queue()
    writer = JsonlWriter(path, queue)
    for number in (2, 3):
        queue.put_nowait(EngineEvent("cycle_start", "r", f"cycle-000{number}", {"cycle": number}))
    queue.put_nowait(EngineEvent("run_end", "r", data={"interrupted": False}))
    queue.put_nowait(None)

    async with asyncio.timeout(10):
        await writer.run()

    found = lines_of(path)
    assert [(r["type"], r.get("cycle_id")) for r in found] == [
        ("cycle_start", "cycle-0001"), ("cycle_end", "cycle-0001"), ("cycle_start", "cycle-0002"),
        ("cycle_start", "cycle-0003"), ("run_end", None)]
    assert writer.lines == 3
    assert all(set(r) >= {"type", "ts", "run_id"} for r in found)


def test_reading_records_back_skips_other_types_and_a_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    path.write_text(WHOLE + TORN)

    assert [r["cycle_id"] for r in read_records(path, ("cycle_end",))] == ["cycle-0001"]
    assert read_records(path, ("watch_event",)) == []
    assert read_records(tmp_path / "absent.jsonl", ("cycle_end",)) == []
