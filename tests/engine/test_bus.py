"""The event bus: every subscriber sees every event from its subscription on, and the end of the run."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import aclosing

from asyncswitch.engine import EngineEvent, EventBus


def cycle_start(number: int) -> EngineEvent:
    return EngineEvent("cycle_start", "run", f"cycle-000{number}", {"cycle": number})


async def collect(stream: AsyncGenerator[EngineEvent, None]) -> list[str | None]:
    async with asyncio.timeout(5), aclosing(stream) as events:
        return [event.cycle_id async for event in events]


async def types_of(stream: AsyncGenerator[EngineEvent, None]) -> list[str]:
    async with asyncio.timeout(5), aclosing(stream) as events:
        return [event.type async for event in events]


async def test_a_stream_sees_events_published_after_the_call_even_before_its_first_iteration() -> None:
    bus = EventBus()
    stream = bus.stream()
    bus.publish(cycle_start(1))
    bus.publish(cycle_start(2))
    bus.close()

    assert await collect(stream) == ["cycle-0001", "cycle-0002"]


async def test_a_stream_opened_after_the_run_ended_ends_at_once() -> None:
    bus = EventBus()
    bus.publish(cycle_start(1))
    bus.close()

    assert await collect(bus.stream()) == []
    bus.close()  # closing twice is harmless


async def test_a_subscriber_that_names_record_types_gets_only_those_and_the_end() -> None:
    bus = EventBus()
    everything, cycles_only = bus.stream(), bus.stream(types={"cycle_start"})
    bus.publish(EngineEvent("watch_event", "run", "cycle-0001", {"name": "c1"}))
    bus.publish(cycle_start(1))
    bus.close()

    assert await types_of(everything) == ["watch_event", "cycle_start"]
    assert await types_of(cycles_only) == ["cycle_start"]
