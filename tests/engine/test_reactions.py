"""Pairing the engine's writes with the watch events that show them (reaction latency)."""

from __future__ import annotations

from asyncswitch.engine.reactions import ReactionMatcher
from asyncswitch.kube import MANAGED_CLUSTERS, Write


def write(name: str, version: str, *, sent: float, answered: float, hub: str = "hub-a") -> Write:
    return Write(hub, "patch", MANAGED_CLUSTERS, None, name, version, sent, answered)


def test_a_write_answered_before_its_event_is_timed_from_its_sending() -> None:
    matcher = ReactionMatcher()

    assert matcher.wrote(write("c1", "41", sent=10.000, answered=10.002)) is None
    reaction = matcher.noticed("hub-a", MANAGED_CLUSTERS.key, "c1", "41", 10.003)

    assert reaction is not None
    assert (round(reaction.seconds, 6), round(reaction.after_answer, 6)) == (0.003, 0.001)


def test_an_event_that_arrives_before_the_writes_answer_is_paired_when_the_answer_comes() -> None:
    matcher = ReactionMatcher()

    assert matcher.noticed("hub-a", MANAGED_CLUSTERS.key, "c1", "41", 10.001) is None
    reaction = matcher.wrote(write("c1", "41", sent=10.000, answered=10.002))

    assert reaction is not None
    assert (round(reaction.seconds, 6), round(reaction.after_answer, 6)) == (0.001, -0.001)


def test_events_of_other_hubs_objects_or_versions_do_not_pair() -> None:
    matcher = ReactionMatcher()
    matcher.wrote(write("c1", "41", sent=10.0, answered=10.001))

    assert matcher.noticed("hub-b", MANAGED_CLUSTERS.key, "c1", "41", 10.002) is None
    assert matcher.noticed("hub-a", MANAGED_CLUSTERS.key, "c2", "41", 10.002) is None
    assert matcher.noticed("hub-a", MANAGED_CLUSTERS.key, "c1", "40", 10.002) is None
    assert matcher.noticed("hub-a", "restores.cluster.open-cluster-management.io", "c1", "41", 10.002) is None
    assert matcher.noticed("hub-a", MANAGED_CLUSTERS.key, "c1", "41", 10.002) is not None


def test_a_write_that_changed_nothing_is_not_paired_with_the_older_event_at_its_version() -> None:
    matcher = ReactionMatcher()
    matcher.noticed("hub-a", MANAGED_CLUSTERS.key, "c1", "41", 5.0)  # the controller's change, long ago

    assert matcher.wrote(write("c1", "41", sent=10.0, answered=10.001)) is None


def test_unpaired_writes_and_events_are_kept_only_up_to_the_backlog() -> None:
    matcher = ReactionMatcher(backlog=3)
    for number in range(5):
        matcher.wrote(write(f"c{number}", "1", sent=10.0, answered=10.001))

    assert matcher.noticed("hub-a", MANAGED_CLUSTERS.key, "c0", "1", 10.002) is None  # dropped, oldest first
    assert matcher.noticed("hub-a", MANAGED_CLUSTERS.key, "c4", "1", 10.002) is not None
