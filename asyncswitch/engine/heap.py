"""Full garbage collections between cycles, not during them.

CPython's cyclic collector runs a full (oldest-generation) pass whenever enough objects have survived
into the oldest generation, and that pass walks every tracked object while the event loop waits. A
10,000-cluster cycle keeps a few hundred thousand of them alive (watched objects, lists, caches), so
each pass stalled the loop for 0.3-0.7 s, dozens of times per cycle (docs/performance.md, cycle
engine). With ``RunConfig.gc_between_cycles`` the automatic full passes are off while the cycles run
and one is made after each cycle, when that cycle's objects are gone and nothing is being timed. The
young generations are collected as usual; the process's own thresholds come back when the run ends.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collect_between_cycles", "full_collections_between_cycles"]

_NEVER = 2**31 - 1
"""An oldest-generation threshold no count of younger collections reaches."""


@contextmanager
def full_collections_between_cycles(enabled: bool = True) -> Iterator[None]:
    """While the block runs, no automatic full collection (young ones go on); restored on exit."""
    if not enabled:
        yield
        return
    young, middle, oldest = gc.get_threshold()
    gc.set_threshold(young, middle, _NEVER)
    try:
        yield
    finally:
        gc.set_threshold(young, middle, oldest)


def collect_between_cycles() -> None:
    """The full collection the cycle deferred (cyclic garbage of the cycle: tasks, exceptions, frames)."""
    gc.collect()
