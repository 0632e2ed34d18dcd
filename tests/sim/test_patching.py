"""The three patch formats as pure functions: RFC 7386, Kubernetes strategic merge, RFC 6902."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from asyncswitch.sim.errors import BadRequest, Invalid, UnsupportedMediaType
from asyncswitch.sim.patching import apply_patch, json_patch, merge_patch, strategic_merge_patch

# -- merge patch (RFC 7386) --------------------------------------------------------------------


@pytest.mark.parametrize(("original", "patch", "result"), [
    # RFC 7386, Appendix A, line by line.
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
])
def test_merge_patch_follows_every_example_of_rfc_7386(original: Any, patch: Any, result: Any) -> None:
    assert merge_patch(original, patch) == result


def test_merge_patch_leaves_its_inputs_untouched() -> None:
    original = {"spec": {"a": {"b": 1}, "list": [1, 2]}}
    patch = {"spec": {"a": {"c": 2}, "list": [3]}}
    frozen = copy.deepcopy((original, patch))

    result = merge_patch(original, patch)
    result["spec"]["a"]["d"] = 4
    result["spec"]["list"].append(9)

    assert (original, patch) == frozen


# -- strategic merge ---------------------------------------------------------------------------

POD_SPEC = {
    "containers": [
        {"name": "main", "image": "main:1", "env": [{"name": "A", "value": "1"}],
         "ports": [{"containerPort": 80, "protocol": "TCP"}], "args": ["--x"]},
        {"name": "sidecar", "image": "sidecar:1"},
    ],
    "volumes": [{"name": "data", "emptyDir": {}}],
}


def test_strategic_merge_combines_containers_by_name_and_keeps_the_rest() -> None:
    result = strategic_merge_patch(POD_SPEC, {"containers": [{"name": "main", "image": "main:2"}]})

    assert [c["name"] for c in result["containers"]] == ["main", "sidecar"]
    assert result["containers"][0] == {**POD_SPEC["containers"][0], "image": "main:2"}
    assert result["volumes"] == POD_SPEC["volumes"]


def test_strategic_merge_appends_an_element_with_a_new_key() -> None:
    result = strategic_merge_patch(POD_SPEC, {"volumes": [{"name": "cache", "emptyDir": {}}]})

    assert [v["name"] for v in result["volumes"]] == ["data", "cache"]


def test_strategic_merge_merges_nested_keyed_lists_env_by_name_and_ports_by_container_port() -> None:
    result = strategic_merge_patch(POD_SPEC, {"containers": [{"name": "main", "env": [{"name": "A", "value": "2"},
                                                                                     {"name": "B", "value": "3"}],
                                                              "ports": [{"containerPort": 80, "name": "http"}]}]})

    main = result["containers"][0]
    assert main["env"] == [{"name": "A", "value": "2"}, {"name": "B", "value": "3"}]
    assert main["ports"] == [{"containerPort": 80, "protocol": "TCP", "name": "http"}]


def test_strategic_merge_replaces_a_list_that_has_no_merge_key() -> None:
    result = strategic_merge_patch(POD_SPEC, {"containers": [{"name": "main", "args": ["--y"]}]})

    assert result["containers"][0]["args"] == ["--y"]


def test_the_patch_delete_directive_removes_a_keyed_element() -> None:
    result = strategic_merge_patch(POD_SPEC, {"containers": [{"name": "sidecar", "$patch": "delete"}]})

    assert [c["name"] for c in result["containers"]] == ["main"]


def test_the_patch_delete_directive_on_a_map_removes_the_map() -> None:
    result = strategic_merge_patch({"spec": {"a": 1}, "keep": True}, {"spec": {"$patch": "delete"}})

    assert result == {"keep": True}


def test_the_patch_replace_directive_replaces_a_map_whole() -> None:
    result = strategic_merge_patch({"labels": {"a": "1", "b": "2"}}, {"labels": {"$patch": "replace", "c": "3"}})

    assert result == {"labels": {"c": "3"}}


def test_finalizers_merge_as_a_set_and_delete_from_primitive_list_removes_one() -> None:
    meta = {"finalizers": ["a", "b"]}

    added = strategic_merge_patch(meta, {"finalizers": ["b", "c"]})
    removed = strategic_merge_patch(meta, {"$deleteFromPrimitiveList/finalizers": ["a"]})

    assert added == {"finalizers": ["a", "b", "c"]}
    assert removed == {"finalizers": ["b"]}


def test_set_element_order_and_retain_keys_hints_are_accepted_and_ignored() -> None:
    patch = {"$setElementOrder/containers": [{"name": "sidecar"}, {"name": "main"}], "$retainKeys": ["containers"],
             "containers": [{"name": "main", "image": "main:2"}]}

    result = strategic_merge_patch(POD_SPEC, patch)

    assert [c["name"] for c in result["containers"]] == ["main", "sidecar"]
    assert not any(k.startswith("$") for k in result)


def test_strategic_merge_null_removes_a_key() -> None:
    assert strategic_merge_patch({"a": 1, "b": 2}, {"a": None}) == {"b": 2}


def test_strategic_merge_strips_directives_from_new_elements() -> None:
    result = strategic_merge_patch({}, {"containers": [{"name": "x", "$patch": "merge"}]})

    assert result == {"containers": [{"name": "x"}]}


def test_strategic_merge_leaves_its_inputs_untouched() -> None:
    original = copy.deepcopy(POD_SPEC)
    patch = {"containers": [{"name": "main", "env": [{"name": "B", "value": "3"}]}]}
    frozen = copy.deepcopy(patch)

    result = strategic_merge_patch(original, patch)
    result["containers"][0]["env"].append({"name": "C"})

    assert original == POD_SPEC
    assert patch == frozen


# -- JSON patch (RFC 6902) ---------------------------------------------------------------------


def test_json_patch_applies_operations_in_order() -> None:
    doc = {"spec": {"size": 1, "tags": ["a"]}}

    result = json_patch(doc, [
        {"op": "add", "path": "/spec/tags/-", "value": "b"},
        {"op": "replace", "path": "/spec/size", "value": 2},
        {"op": "copy", "from": "/spec/size", "path": "/spec/was"},
        {"op": "move", "from": "/spec/was", "path": "/spec/moved"},
        {"op": "remove", "path": "/spec/tags/0"},
        {"op": "test", "path": "/spec/tags", "value": ["b"]},
    ])

    assert result == {"spec": {"size": 2, "tags": ["b"], "moved": 2}}
    assert doc == {"spec": {"size": 1, "tags": ["a"]}}


@pytest.mark.parametrize("operations", [
    [{"op": "test", "path": "/spec/size", "value": 99}],
    [{"op": "remove", "path": "/spec/missing"}],
    [{"op": "replace", "path": "/nothing/here", "value": 1}],
    [{"op": "explode", "path": "/spec"}],
    [{"op": "replace", "path": "", "value": [1, 2]}],
])
def test_a_json_patch_that_cannot_apply_is_invalid(operations: list[dict[str, Any]]) -> None:
    with pytest.raises(Invalid) as caught:
        json_patch({"spec": {"size": 1}}, operations)

    assert caught.value.code == 422


def test_a_json_patch_that_is_not_a_list_is_a_bad_request() -> None:
    with pytest.raises(BadRequest):
        json_patch({"spec": {}}, {"op": "add"})


# -- choosing the format -----------------------------------------------------------------------


def test_apply_patch_picks_the_format_from_the_content_type_and_ignores_parameters() -> None:
    target = {"metadata": {"finalizers": ["a"]}}
    patch = {"metadata": {"finalizers": ["b"]}}

    merged = apply_patch("application/merge-patch+json; charset=utf-8", target, patch, builtin=True)
    strategic = apply_patch("Application/Strategic-Merge-Patch+JSON", target, patch, builtin=True)

    assert merged == {"metadata": {"finalizers": ["b"]}}
    assert strategic == {"metadata": {"finalizers": ["a", "b"]}}


def test_strategic_merge_on_a_custom_type_is_an_unsupported_media_type() -> None:
    with pytest.raises(UnsupportedMediaType) as caught:
        apply_patch("application/strategic-merge-patch+json", {}, {}, builtin=False)

    assert caught.value.code == 415
    assert "strategic" not in caught.value.message


@pytest.mark.parametrize("content_type", ["application/apply-patch+yaml", "application/json", ""])
def test_other_media_types_are_unsupported_and_the_error_lists_the_accepted_ones(content_type: str) -> None:
    with pytest.raises(UnsupportedMediaType) as caught:
        apply_patch(content_type, {}, {}, builtin=True)

    assert "application/strategic-merge-patch+json" in caught.value.message


def test_a_merge_patch_body_that_is_not_an_object_is_a_bad_request() -> None:
    with pytest.raises(BadRequest):
        apply_patch("application/merge-patch+json", {}, ["a"], builtin=True)
