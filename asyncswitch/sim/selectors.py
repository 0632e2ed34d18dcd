"""Label and field selectors, parsed once per request and matched against stored objects."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import BadRequest

__all__ = ["FieldSelector", "LabelSelector"]

_SET_RE = re.compile(r"^\s*(!?)\s*([A-Za-z0-9_./-]+)\s*(?:(notin|in)\s*\(([^)]*)\))?\s*$")
_CMP_RE = re.compile(r"^\s*([A-Za-z0-9_./-]+)\s*(==|!=|=)\s*([A-Za-z0-9_.-]*)\s*$")


@dataclass(frozen=True)
class _Requirement:
    key: str
    op: str  # "in", "notin", "exists", "!exists"
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.op == "exists":
            return self.key in labels
        if self.op == "!exists":
            return self.key not in labels
        if self.op == "in":
            return labels.get(self.key) in self.values
        # notin, like !=, also matches objects that lack the label
        return labels.get(self.key) not in self.values


def _split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    parts: list[str] = []
    depth, start = 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p for p in parts if p.strip()]


@dataclass(frozen=True)
class LabelSelector:
    """A parsed ``labelSelector`` (=, ==, !=, in, notin, exists, !exists)."""

    requirements: tuple[_Requirement, ...] = ()

    @classmethod
    def parse(cls, text: str | None) -> LabelSelector:
        if not text:
            return cls()
        reqs: list[_Requirement] = []
        for part in _split_top_level(text):
            cmp = _CMP_RE.match(part)
            if cmp:
                key, op, value = cmp.groups()
                reqs.append(_Requirement(key, "notin" if op == "!=" else "in", frozenset([value])))
                continue
            setm = _SET_RE.match(part)
            if not setm:
                raise BadRequest(f"unable to parse requirement: found '{part.strip()}', expected a label selector")
            bang, key, op, values = setm.groups()
            if op:
                if bang:
                    raise BadRequest(f"unable to parse requirement: '!' cannot precede '{op}'")
                vals = frozenset(v.strip() for v in values.split(",") if v.strip())
                if not vals:
                    raise BadRequest(f"unable to parse requirement: for '{op}' operator, values set can't be empty")
                reqs.append(_Requirement(key, op, vals))
            else:
                reqs.append(_Requirement(key, "!exists" if bang else "exists"))
        return cls(tuple(reqs))

    @classmethod
    def from_match_labels(cls, labels: Mapping[str, str]) -> LabelSelector:
        return cls(tuple(_Requirement(k, "in", frozenset([v])) for k, v in labels.items()))

    def matches(self, obj: Mapping[str, Any]) -> bool:
        if not self.requirements:
            return True
        labels = obj.get("metadata", {}).get("labels") or {}
        return all(r.matches(labels) for r in self.requirements)

    def __str__(self) -> str:
        out = []
        for r in self.requirements:
            if r.op == "exists":
                out.append(r.key)
            elif r.op == "!exists":
                out.append(f"!{r.key}")
            elif len(r.values) == 1:
                out.append(f"{r.key}{'=' if r.op == 'in' else '!='}{next(iter(r.values))}")
            else:
                out.append(f"{r.key} {r.op} ({','.join(sorted(r.values))})")
        return ",".join(out)


def _lookup(obj: Mapping[str, Any], path: str) -> str:
    node: Any = obj
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return ""
        node = node.get(part)
    if node is None:
        return ""
    if isinstance(node, bool):
        return "true" if node else "false"
    return str(node)


@dataclass(frozen=True)
class FieldSelector:
    """A parsed ``fieldSelector``: =, == and != on the fields a type allows."""

    terms: tuple[tuple[str, bool, str], ...] = ()  # (field path, equal?, value)

    @classmethod
    def parse(cls, text: str | None, allowed: tuple[str, ...] = ()) -> FieldSelector:
        if not text:
            return cls()
        terms: list[tuple[str, bool, str]] = []
        for part in _split_top_level(text):
            m = re.match(r"^\s*([A-Za-z0-9_.]+)\s*(==|!=|=)\s*(.*?)\s*$", part)
            if not m:
                raise BadRequest(f"invalid selector: '{text}'; can't understand '{part}'")
            name, op, value = m.groups()
            if name not in ("metadata.name", "metadata.namespace", *allowed):
                raise BadRequest(f'field label not supported: {name}')
            terms.append((name, op != "!=", value))
        return cls(tuple(terms))

    def matches(self, obj: Mapping[str, Any]) -> bool:
        if not self.terms:
            return True
        return all((_lookup(obj, path) == value) == equal for path, equal, value in self.terms)

    def exact_name(self) -> str | None:
        """The name a ``metadata.name=`` term pins, so a lookup can skip the scan."""
        for path, equal, value in self.terms:
            if path == "metadata.name" and equal:
                return value
        return None
