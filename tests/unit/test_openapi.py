"""The pieces of restosync_http/openapi.py that need no app: settings' schema, shadowed path segments."""

from __future__ import annotations

from typing import Any

import jsonschema

from restosync_http.dto.agents import MAX_SETTINGS_DEPTH, settings_depth
from restosync_http.openapi import _shadowing_segments, json_value_schema, problems


def nested(levels: int) -> dict[str, Any]:
    """An object ``levels`` levels deep (itself included), alternating objects and arrays."""
    value: Any = "leaf"
    for level in range(levels - 1):
        value = [value] if level % 2 else {"k": value}
    return {"top": value}


def test_the_settings_schema_accepts_exactly_what_the_depth_check_accepts() -> None:
    validator = jsonschema.Draft202012Validator(json_value_schema(MAX_SETTINGS_DEPTH, "settings").to_schema())
    for levels in range(1, MAX_SETTINGS_DEPTH + 3):
        settings = nested(levels)
        assert validator.is_valid(settings) == (settings_depth(settings) <= MAX_SETTINGS_DEPTH), levels
    assert not validator.is_valid({"a": "b\x00"})
    assert not validator.is_valid({"a\x00": 1})
    assert not validator.is_valid(["not", "an", "object"])
    assert validator.is_valid({"a": [1, 2.5, None, True, {"b": "c"}]})


def test_a_path_parameter_is_shadowed_by_the_static_segments_of_routes_of_its_length() -> None:
    paths = ["/api/agents/{vendor_id}", "/api/agents/register", "/api/agents/callback", "/api/agents",
             "/api/admin/metrics/{vendor_id}", "/api/admin/metrics/reconciliation/{vendor_id}"]
    assert _shadowing_segments(paths) == {("/api/agents/{vendor_id}", 2): ["callback", "register"]}


def test_problems_describe_known_statuses_and_take_their_own_words() -> None:
    specs = problems(404, (409, "that order number is taken"))
    assert {status: spec.description for status, spec in specs.items()} == {
        404: "no such resource", 409: "that order number is taken",
    }
    assert all(spec.media_type == "application/problem+json" for spec in specs.values())
