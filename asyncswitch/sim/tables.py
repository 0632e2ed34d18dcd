"""``meta.k8s.io/v1 Table`` rendering, which ``kubectl get`` asks for to print columns.

Built-in types with a printer (printers.py) get kube-apiserver's columns; every other type gets
Name, its ``printer_columns`` (a CRD's additionalPrinterColumns) and Age.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from .printers import age, builtin_printer
from .resources import ResourceType

__all__ = ["TABLE_MEDIA", "render_table", "wants_table"]

TABLE_MEDIA = "as=Table"
_STEP = re.compile(r'\.([A-Za-z0-9_-]+)|\[(\d+)\]|\[\?\(@\.([A-Za-z0-9_.-]+)\s*==\s*["\']([^"\']*)["\']\)\]')


def wants_table(accept: str) -> bool:
    return any(TABLE_MEDIA in part for part in accept.split(","))


def json_path(obj: Any, path: str) -> Any:
    """The subset of JSONPath CRD printer columns use: ``.a.b``, ``[0]`` and ``[?(@.k=="v")]``."""
    node: Any = obj
    for m in _STEP.finditer(path.strip("{}")):
        key, index, filter_key, filter_value = m.groups()
        if key is not None:
            node = node.get(key) if isinstance(node, dict) else None
        elif index is not None:
            node = node[int(index)] if isinstance(node, list) and int(index) < len(node) else None
        else:
            matches = [
                item for item in node or []
                if isinstance(item, dict) and str(json_path(item, "." + filter_key)) == filter_value
            ] if isinstance(node, list) else []
            node = matches[0] if matches else None
        if node is None:
            return None
    return node


def _cell(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        return str(value)
    return value


def render_table(
    rtype: ResourceType,
    objects: list[dict[str, Any]],
    *,
    resource_version: int,
    continue_token: str = "",
    include_object: bool = True,
) -> dict[str, Any]:
    now = datetime.now(UTC)
    printer = builtin_printer(rtype.key) if rtype.builtin else None
    columns: list[dict[str, Any]] = [
        {"name": "Name", "type": "string", "format": "name", "priority": 0,
         "description": "Name must be unique within a namespace."},
    ]
    if printer is not None:
        columns += [{"name": name, "type": kind, "format": "", "priority": priority, "description": description}
                    for name, kind, priority, description in printer.columns]
    else:
        for name, kind, _ in rtype.printer_columns:
            columns.append({"name": name, "type": kind, "format": "", "priority": 0, "description": name})
        columns.append({"name": "Age", "type": "string", "format": "", "priority": 0,
                        "description": "Time since the object was created."})
    rows = []
    for obj in objects:
        meta = obj.get("metadata", {})
        cells: list[Any] = [meta.get("name")]
        if printer is not None:
            cells += printer.cells(obj, now)
        else:
            cells += [_cell(json_path(obj, path)) for _, _, path in rtype.printer_columns]
            cells.append(age(meta.get("creationTimestamp"), now))
        row: dict[str, Any] = {"cells": cells}
        if include_object:
            row["object"] = obj
        rows.append(row)
    metadata: dict[str, Any] = {"resourceVersion": str(resource_version)}
    if continue_token:
        metadata["continue"] = continue_token
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": metadata,
            "columnDefinitions": columns, "rows": rows}
