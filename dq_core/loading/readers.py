"""Read authoring files (YAML, JSON) into plain data, strictly.

YAML is read with YAML 1.2 core semantics for scalars: only ``true``/``false`` are
booleans (so the country code ``NO`` stays a string) and dates stay strings.
Duplicate keys are an error in both formats, never a silent overwrite.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from dq_core.errors import LoadError

_BOOL_12 = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")


class StrictYamlLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans, no implicit timestamps, and no duplicate keys."""


StrictYamlLoader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
StrictYamlLoader.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL_12, list("tTfF"))


def _construct_mapping(loader: StrictYamlLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in mapping:
            line = key_node.start_mark.line + 1
            msg = f"duplicate key {key!r} (line {line})"
            raise yaml.constructor.ConstructorError(None, None, msg, key_node.start_mark)
        mapping[key] = loader.construct_object(value_node, deep=True)
    return mapping


StrictYamlLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(text: str, location: str) -> Any:
    try:
        documents = list(yaml.load_all(text, Loader=StrictYamlLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = exc.problem or str(exc)
        raise LoadError(location, where, f"invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise LoadError(location, "", f"invalid YAML: {exc}") from None
    documents = [doc for doc in documents if doc is not None]
    if len(documents) != 1:
        raise LoadError(location, "", f"expected one YAML document, found {len(documents)}")
    return documents[0]


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            msg = f"duplicate key {key!r}"
            raise ValueError(msg)
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    msg = f"{name} is not a JSON number"
    raise ValueError(msg)


def read_json(text: str, location: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise LoadError(location, f"line {exc.lineno}, column {exc.colno}", f"invalid JSON: {exc.msg}") from None
    except ValueError as exc:
        raise LoadError(location, "", f"invalid JSON: {exc}") from None
