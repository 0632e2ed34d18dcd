"""Label and field selectors as pure functions: parsing, matching, and the errors a client gets."""

from __future__ import annotations

from typing import Any

import pytest

from asyncswitch.sim.errors import BadRequest
from asyncswitch.sim.selectors import FieldSelector, LabelSelector


def labelled(**labels: str) -> dict[str, Any]:
    return {"metadata": {"name": "x", "labels": labels}}


UNLABELLED: dict[str, Any] = {"metadata": {"name": "x"}}

# -- label selectors -----------------------------------------------------------------------------


@pytest.mark.parametrize(("selector", "matching", "not_matching"), [
    ("app=web", [{"app": "web"}], [{"app": "db"}, {}]),
    ("app==web", [{"app": "web"}], [{"app": "db"}, {}]),
    ("app!=web", [{"app": "db"}, {}], [{"app": "web"}]),
    ("app in (web,db)", [{"app": "web"}, {"app": "db"}], [{"app": "cache"}, {}]),
    ("app notin (web,db)", [{"app": "cache"}, {}], [{"app": "web"}]),
    ("app", [{"app": ""}, {"app": "web"}], [{}]),
    ("!app", [{}, {"other": "x"}], [{"app": "web"}]),
    ("app=", [{"app": ""}], [{"app": "web"}, {}]),
    ("example.io/tier=front", [{"example.io/tier": "front"}], [{"tier": "front"}]),
    ("app=web,tier in (front),!legacy", [{"app": "web", "tier": "front"}],
     [{"app": "web", "tier": "front", "legacy": "y"}, {"app": "web", "tier": "back"}]),
    (" app = web , tier ", [{"app": "web", "tier": "x"}], [{"app": "web"}]),
])
def test_a_label_selector_matches_as_kubernetes_defines_each_operator(
    selector: str, matching: list[dict[str, str]], not_matching: list[dict[str, str]]
) -> None:
    parsed = LabelSelector.parse(selector)

    assert all(parsed.matches(labelled(**labels)) for labels in matching)
    assert not any(parsed.matches(labelled(**labels)) for labels in not_matching)


@pytest.mark.parametrize("selector", ["", None])
def test_an_empty_label_selector_matches_everything(selector: str | None) -> None:
    parsed = LabelSelector.parse(selector)

    assert parsed.matches(UNLABELLED)
    assert parsed.matches(labelled(app="web"))


@pytest.mark.parametrize("selector", [
    "app in web", "app=(web)", "!app in (web)", "a b", "app in (web", "tier in ()", "tier notin ( )", "app=web=db",
])
def test_an_unparseable_label_selector_is_a_bad_request(selector: str) -> None:
    with pytest.raises(BadRequest) as caught:
        LabelSelector.parse(selector)

    assert caught.value.code == 400


@pytest.mark.parametrize("selector", [
    "app=web", "app!=web", "app in (db,web)", "app notin (db,web)", "app", "!app", "app=web,!legacy,tier in (a,b)",
])
def test_a_label_selector_prints_as_text_that_parses_back_to_the_same_selector(selector: str) -> None:
    parsed = LabelSelector.parse(selector)

    assert LabelSelector.parse(str(parsed)) == parsed


def test_a_selector_from_match_labels_requires_every_label() -> None:
    parsed = LabelSelector.from_match_labels({"app": "web", "tier": "front"})

    assert parsed.matches(labelled(app="web", tier="front", extra="y"))
    assert not parsed.matches(labelled(app="web"))
    assert str(parsed) == "app=web,tier=front"


# -- field selectors -------------------------------------------------------------------------------

POD = {"metadata": {"name": "p", "namespace": "default"}, "spec": {"nodeName": "n1", "hostNetwork": True},
       "status": {"phase": "Running"}}


@pytest.mark.parametrize(("selector", "matches"), [
    ("metadata.name=p", True),
    ("metadata.name==p", True),
    ("metadata.name!=p", False),
    ("metadata.namespace=default,metadata.name=p", True),
    ("metadata.namespace=other", False),
    ("status.phase=Running", True),
    ("spec.nodeName=n2", False),
    ("spec.nodeName=", False),
    ("spec.hostNetwork=true", True),
    ("spec.serviceAccountName=", True),  # a missing field compares as ""
])
def test_a_field_selector_compares_the_named_fields(selector: str, matches: bool) -> None:
    allowed = ("status.phase", "spec.nodeName", "spec.hostNetwork", "spec.serviceAccountName")

    assert FieldSelector.parse(selector, allowed).matches(POD) is matches


def test_a_field_selector_allows_only_name_namespace_and_the_types_own_fields() -> None:
    with pytest.raises(BadRequest) as caught:
        FieldSelector.parse("status.phase=Running")

    assert "field label not supported: status.phase" in caught.value.message
    assert FieldSelector.parse("status.phase=Running", ("status.phase",)).matches(POD)


@pytest.mark.parametrize("selector", ["metadata.name", "metadata.name~p", "=p"])
def test_an_unparseable_field_selector_is_a_bad_request(selector: str) -> None:
    with pytest.raises(BadRequest):
        FieldSelector.parse(selector)


def test_exact_name_is_the_name_an_equality_term_pins() -> None:
    assert FieldSelector.parse("metadata.namespace=default,metadata.name=p").exact_name() == "p"
    assert FieldSelector.parse("metadata.name!=p").exact_name() is None
    assert FieldSelector.parse("").exact_name() is None
