"""The shared backup storage as both hubs' BackupStorageLocations report it."""

from __future__ import annotations

from asyncswitch.sim.acm import SimulatedHubPair

from .resources import BSLS, Hub, until
from .watching import phase


async def test_the_storage_location_is_available_on_both_hubs(hubs: dict[str, Hub]) -> None:
    for hub in hubs.values():
        bsls = await until(hub, BSLS, lambda objs: len(objs) == 1 and phase(objs[0]) == "Available")
        assert bsls[0]["spec"]["default"] is True


async def test_unreachable_storage_makes_both_locations_unavailable_and_back(
    pair: SimulatedHubPair, hubs: dict[str, Hub]
) -> None:
    pair.set_storage_available(False)
    for hub in hubs.values():
        (bsl,) = await until(hub, BSLS, lambda objs: [phase(o) for o in objs] == ["Unavailable"])
        assert [c["status"] for c in bsl["status"]["conditions"]] == ["False"]
    pair.set_storage_available(True)
    for hub in hubs.values():
        await until(hub, BSLS, lambda objs: [phase(o) for o in objs] == ["Available"])
