"""Canonical JSON is byte-stable across YAML, JSON and XLSX, and round-trips models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dq_core.config.base import Versioned
from dq_core.config.canonical import canonical_json, content_hash
from dq_core.config.objects import CONFIG_OBJECT_ADAPTER
from dq_core.loading.loader import config_files, load_file, parse_object
from dq_core.loading.writers import render, to_authoring
from dq_core.loading.xlsx import read_xlsx, write_xlsx
from tests.conftest import DEMO

ids = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)
tenants = st.from_regex(r"[a-z][a-z0-9]{0,10}", fullmatch=True)  # dq_core.identifiers.TENANT_PATTERN
words = st.text(
    alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "Zs"), exclude_characters="\x00"), max_size=30
).map(str.strip)
finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12)
scalars = st.one_of(words.filter(bool), st.integers(-10_000, 10_000), finite, st.booleans())
severity = st.sampled_from(["error", "warning", "info"])
mostly = st.floats(min_value=0, max_value=1, allow_nan=False)


def _common(rule_id: str, draw_msg: str, sev: str, frac: float) -> dict[str, Any]:
    return {"id": rule_id, "severity": sev, "mostly": frac, "message": draw_msg}


@st.composite
def rule(draw: st.DrawFn) -> dict[str, Any]:
    common = _common(draw(ids), draw(words), draw(severity), draw(mostly))
    kind = draw(st.sampled_from(["not_null", "in_set", "range", "length", "row_count", "metric", "regex"]))
    if kind == "in_set":
        return {**common, "type": kind, "params": {"values": draw(st.lists(scalars, min_size=1, max_size=4))}}
    if kind == "range":
        low = draw(finite)
        return {
            **common,
            "type": kind,
            "params": {"min": low, "max": low + draw(st.floats(0, 1e6)), "max_inclusive": draw(st.booleans())},
        }
    if kind == "length":
        return {**common, "type": kind, "params": {"min": draw(st.integers(0, 5)), "max": draw(st.integers(5, 50))}}
    if kind == "row_count":
        return {**common, "type": kind, "params": {"threshold": {"must_be_greater_than": draw(st.integers(0, 10**6))}}}
    if kind == "metric":
        return {
            **common,
            "type": kind,
            "params": {
                "metric": "missingValues",
                "missing_values": draw(st.lists(st.one_of(st.none(), scalars), min_size=1, max_size=3)),
                "unit": draw(st.sampled_from(["rows", "percent"])),
                "threshold": {"must_be_less_or_equal_to": draw(finite)},
            },
        }
    if kind == "regex":
        return {
            **common,
            "type": kind,
            "params": {"pattern": draw(st.sampled_from([r"^[A-Z]{2}$", r"\d+", "a|b", "=x"]))},
        }
    return {**common, "type": kind}


@st.composite
def rule_library(draw: st.DrawFn) -> dict[str, Any]:
    rules = draw(st.lists(rule(), max_size=6, unique_by=lambda r: r["id"]))
    return {
        "kind": "rule_library",
        "tenant": draw(tenants),
        "environment": draw(st.sampled_from(["dev", "test", "prod"])),
        "id": draw(ids),
        "version": f"{draw(st.integers(0, 9))}.{draw(st.integers(0, 9))}.{draw(st.integers(0, 99))}",
        "status": draw(st.sampled_from(["draft", "approved", "published", "deprecated"])),
        "description": draw(words),
        "tags": draw(st.lists(words.filter(bool), max_size=3)),
        "rules": rules,
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule_library())
def test_model_canonical_model_round_trip(data: dict[str, Any]) -> None:
    model = parse_object(data, "generated")
    canonical = canonical_json(model)
    again = CONFIG_OBJECT_ADAPTER.validate_python(json.loads(canonical))
    assert canonical_json(again) == canonical
    assert content_hash(again) == content_hash(model)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule_library())
def test_yaml_json_and_xlsx_twins_canonicalise_to_the_same_bytes(data: dict[str, Any]) -> None:
    model = parse_object(data, "generated")
    authored = to_authoring(model)
    from_yaml = parse_object(yaml.safe_load(yaml.safe_dump(authored, allow_unicode=True)), "twin.yaml")
    from_json = parse_object(json.loads(json.dumps(authored)), "twin.json")
    xlsx_data, origins = read_xlsx(write_xlsx(authored), "twin.xlsx")
    from_xlsx = parse_object(xlsx_data, "twin.xlsx", origins)
    expected = canonical_json(model)
    assert canonical_json(from_yaml) == expected
    assert canonical_json(from_json) == expected
    assert canonical_json(from_xlsx) == expected


def test_canonical_form_rules() -> None:
    text = canonical_json({"b": 1.0, "a": [0.1 + 0.2, "é"], "c": None}).decode("utf-8")
    assert text == '{"a":[0.3,"é"],"b":1,"c":null}'
    with pytest.raises(ValueError, match="JSON compliant"):
        canonical_json({"x": float("nan")})


def test_publishing_does_not_change_the_content_hash() -> None:
    model = load_file(DEMO / "rules" / "core_rules.yaml")
    assert content_hash(model) == content_hash(model.with_status(model.status.__class__("deprecated")))
    assert canonical_json(model) != canonical_json(model.with_status(model.status.__class__("deprecated")))


@pytest.mark.parametrize("path", config_files(DEMO), ids=lambda p: p.name)
@pytest.mark.parametrize("fmt", ["yaml", "json", "xlsx"])
def test_every_demo_file_converts_without_changing_its_canonical_json(path: Path, fmt: str, tmp_path: Path) -> None:
    original: Versioned = load_file(path)
    twin = tmp_path / f"twin.{fmt}"
    twin.write_bytes(render(original, fmt))
    assert canonical_json(load_file(twin)) == canonical_json(original)
