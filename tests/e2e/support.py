"""Reading what a run left: its records and its summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PHASES = ("preflight", "primary_preparation", "activation", "post_activation_verification", "finalization")


def records(run_dir: Path, *types: str) -> list[dict[str, Any]]:
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    found = [json.loads(line) for line in lines]
    return [r for r in found if r["type"] in types] if types else found


def read_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data
